import {
  checkSchemaCurrent,
  createApp,
  type DocumentInfo,
  type HttpMetrics,
  type Logger,
  type Router,
  type Sql,
  serveDocs,
  serveMetrics,
} from "../runtime/index.js";
import { callerAuth, openApiSecurity } from "./auth/caller-auth.js";
import { chargeService } from "./charges/charge-service.js";
import { faultInjector, warnAboutFaults } from "./charges/faults.js";
import { chargeCounter } from "./charges/metrics.js";
import { createRandomness } from "./charges/randomness.js";
import { burstOf, rateLimiter } from "./charges/rate-limit.js";
import { chargeRoutes } from "./charges/routes.js";
import type { PaymentConfig } from "./config.js";
import { createDb, migrations } from "./data/database.js";

export const PAYMENT_DOCUMENT: DocumentInfo = {
  title: "Payment",
  description:
    "The payment provider Antaeus charges invoices through: at most one charge per Idempotency-Key, and a ledger to ask.",
};

/**
 * The payment provider: the probes open (Knative calls them without a token), every other route
 * behind caller authentication, /metrics and the OpenAPI document included. Prometheus reads
 * those on METRICS_PORT (service.ts), which only the monitoring namespace may reach: every request
 * to this port comes through Knative's gateway or activator, so a NetworkPolicy cannot tell
 * Antaeus from any other workload here, only the token can.
 */
export function paymentApp(deps: {
  config: PaymentConfig;
  sql: Sql;
  logger: Logger;
  metrics: HttpMetrics;
}): Router {
  const { config, logger, metrics } = deps;
  const db = createDb(deps.sql);
  const randomness = createRandomness(config.seed);
  logger.info(
    {
      successRate: config.successRate,
      declineMix: Object.fromEntries(config.declineMix),
      seeded: config.seed !== undefined,
    },
    "charges succeed at random",
  );
  warnAboutFaults(config.faults, logger);
  if (config.rateLimit !== undefined) {
    logger.info({ rateLimit: config.rateLimit }, "charges above the rate limit are answered 429");
  }

  const auth = callerAuth(config.auth, logger);
  const app = createApp(
    logger,
    { database: () => checkSchemaCurrent(deps.sql, migrations), ...auth.readiness },
    { bodyLimitBytes: config.bodyLimitBytes, degraded: auth.degraded },
  );
  // The guard comes after the probes (createApp declared them) and before everything else: the
  // contract's document and reference page too (any workload may reach this port; see above).
  serveMetrics(app, metrics, auth.middleware);
  serveDocs(app, PAYMENT_DOCUMENT, openApiSecurity(config.auth));
  chargeRoutes(app, {
    db,
    charge: chargeService({
      db,
      randomness,
      successRate: config.successRate,
      declineMix: config.declineMix,
    }),
    faults: faultInjector(config.faults, randomness),
    count: chargeCounter(metrics.registry),
    rateLimit: rateLimiter(
      config.rateLimit === undefined
        ? undefined
        : { rate: config.rateLimit, burst: burstOf(config.rateLimit) },
    ),
  });
  return app;
}
