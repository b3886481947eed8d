import { hostname } from "node:os";
import type { Registry } from "prom-client";
import type { Logger, Sql } from "../../runtime/index.js";
import { EventRelay, type EventSettings } from "../events/relay.js";
import { fileClock, systemClock } from "./clock.js";
import { BillingEngine } from "./engine.js";
import { LaneRequests } from "./lane-requests.js";
import { throttleCounter, verdictCounter } from "./metrics.js";
import { PaymentProvider } from "./provider.js";
import type { BillingSettings } from "./settings.js";
import { TokenFile } from "./token-file.js";

/** Builds the engine and the parts it owns from settings; `close` releases the provider's pool. */
export function createBilling(
  sql: Sql,
  settings: BillingSettings,
  events: EventSettings,
  logger: Logger,
  registry: Registry,
) {
  const token = settings.tokenFile ? new TokenFile(settings.tokenFile) : undefined;
  if (token) warnIfUnreadable(token, logger);
  logger.info(
    { dialect: settings.dialect, idempotent: settings.idempotent },
    settings.idempotent
      ? "provider honours Idempotency-Key: unknown outcomes are asked again under the same key"
      : "provider ignores Idempotency-Key: an unknown outcome is never sent again (OUTCOME_UNKNOWN)",
  );
  const provider = new PaymentProvider({
    endpoint: settings.providerEndpoint,
    dialect: settings.dialect,
    idempotent: settings.idempotent,
    timeoutMs: settings.timeoutMs,
    retries: settings.retries,
    token,
  });
  const selfToken = settings.selfTokenFile ? new TokenFile(settings.selfTokenFile) : undefined;
  const lanes = new LaneRequests(settings.laneUrl, logger, selfToken);
  const relay = new EventRelay(sql, events, logger);
  logger.info(
    { sink: events.sink ?? null, source: events.source },
    events.sink ? "events are delivered to K_SINK" : "no K_SINK: events stay in the outbox",
  );
  const engine = new BillingEngine({
    sql,
    provider,
    lanes,
    settings,
    logger,
    // On Kubernetes the host name is the pod's name; the process id tells local replicas apart.
    worker: `${hostname()}/${process.pid}`,
    countVerdict: verdictCounter(registry),
    countThrottled: throttleCounter(registry),
    clock: settings.clockFile ? fileClock(settings.clockFile) : systemClock,
    relay,
  });
  return {
    engine,
    lanes,
    close: async () => {
      await Promise.all([provider.close(), relay.close()]);
    },
  };
}

/**
 * The API does not need the token, only charges do: a missing file is a warning, not a failed
 * start (a revision created by `kn` runs before its token volume is added). Charges attempted
 * while it is missing are not sent (docs/billing.md).
 */
function warnIfUnreadable(token: TokenFile, logger: Logger): void {
  try {
    token.current();
  } catch (error) {
    logger.warn(
      { tokenFile: token.path, err: error },
      `payment token file ${token.path} is not readable: charges are not sent until it is`,
    );
  }
}
