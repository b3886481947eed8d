import type { Registry } from "prom-client";
import type { Sql } from "../../runtime/database.js";
import type { Logger } from "../../runtime/logger.js";
import { Continuations } from "./continuation.js";
import { BillingEngine } from "./engine.js";
import { verdictCounter } from "./metrics.js";
import { PaymentProvider } from "./provider.js";
import type { BillingSettings } from "./settings.js";
import { TokenFile } from "./token-file.js";

/** Builds the engine and the parts it owns from settings; `close` releases the provider's pool. */
export function createBilling(
  sql: Sql,
  settings: BillingSettings,
  logger: Logger,
  registry: Registry,
) {
  const provider = new PaymentProvider({
    endpoint: settings.providerEndpoint,
    timeoutMs: settings.timeoutMs,
    retries: settings.retries,
    connections: settings.concurrency,
    token: settings.tokenFile ? new TokenFile(settings.tokenFile) : undefined,
  });
  const continuations = new Continuations(settings.selfUrl, logger);
  const engine = new BillingEngine({
    sql,
    provider,
    continuations,
    settings,
    logger,
    countVerdict: verdictCounter(registry),
  });
  return { engine, continuations, close: () => provider.close() };
}
