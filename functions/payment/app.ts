import {
  checkSchemaCurrent,
  createApp,
  createHttpMetrics,
  type Logger,
  type Router,
  type Sql,
  serveDocs,
  serveMetrics,
} from "../runtime/index.js";
import { callerAuth } from "./auth/caller-auth.js";
import { chargeService } from "./charges/charge-service.js";
import { faultInjector, warnAboutFaults } from "./charges/faults.js";
import { chargeCounter } from "./charges/metrics.js";
import { createRandomness } from "./charges/randomness.js";
import { burstOf, rateLimiter } from "./charges/rate-limit.js";
import { chargeRoutes } from "./charges/routes.js";
import type { PaymentConfig } from "./config.js";
import { createDb, migrations } from "./data/database.js";

/**
 * The payment provider: probes and /metrics open (Knative and Prometheus call them without a
 * token), every other route behind caller authentication.
 */
export function paymentApp(deps: { config: PaymentConfig; sql: Sql; logger: Logger }): Router {
  const { config, logger } = deps;
  const db = createDb(deps.sql);
  const randomness = createRandomness(config.seed);
  const metrics = createHttpMetrics();
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
  serveMetrics(app, metrics);
  // Open like the probes: the contract is no secret, and the NetworkPolicy admits only Antaeus.
  serveDocs(app, {
    title: "Payment",
    description:
      "The payment provider Antaeus charges invoices through: at most one charge per Idempotency-Key, and a ledger to ask.",
  });

  // Registered after the open routes: Hono runs middleware in order, and those have answered.
  app.use(auth.middleware);
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
    bodyLimitBytes: config.bodyLimitBytes,
    rateLimit: rateLimiter(
      config.rateLimit === undefined
        ? undefined
        : { rate: config.rateLimit, burst: burstOf(config.rateLimit) },
    ),
  });
  return app;
}
