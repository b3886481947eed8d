import type { Hono } from "hono";
import { checkSchemaCurrent, type Sql } from "../runtime/database.js";
import { methodNotAllowed } from "../runtime/errors.js";
import { type AppEnv, createApp } from "../runtime/http.js";
import type { Logger } from "../runtime/logger.js";
import { createHttpMetrics } from "../runtime/metrics.js";
import { callerAuth } from "./auth/caller-auth.js";
import { chargeService } from "./charges/charge-service.js";
import { faultInjector, warnAboutFaults } from "./charges/faults.js";
import { chargeCounter } from "./charges/metrics.js";
import { createRandomness } from "./charges/randomness.js";
import { chargeRoutes } from "./charges/routes.js";
import type { PaymentConfig } from "./config.js";
import { createDb, migrations } from "./data/database.js";

/**
 * The payment provider: probes and /metrics open (Knative and Prometheus call them without a
 * token), every other route behind caller authentication.
 */
export function paymentApp(deps: {
  config: PaymentConfig;
  sql: Sql;
  logger: Logger;
}): Hono<AppEnv> {
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

  const app = createApp(
    logger,
    { database: () => checkSchemaCurrent(deps.sql, migrations) },
    { bodyLimitBytes: config.bodyLimitBytes },
  );
  app.use(metrics.observe);
  app.get("/metrics", metrics.expose);
  app.all("/metrics", methodNotAllowed(["GET"]));

  // Registered after the open routes: Hono runs middleware in order, and those have answered.
  app.use(callerAuth(config.auth, logger));
  const charges = chargeRoutes({
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
  });
  app.route("/v1/charges", charges.ledger);
  app.route("/", charges.root);
  return app;
}
