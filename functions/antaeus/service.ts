import {
  createHttpMetrics,
  type Router,
  type ServiceDefinition,
  serveMetricsAlone,
} from "../runtime/index.js";
import { antaeusApp } from "./app.js";
import { createBilling } from "./billing/index.js";
import { registerOverviewMetrics } from "./billing/overview-metrics.js";
import { type AntaeusConfig, loadAntaeusConfig } from "./config.js";
import { createDb, migrations } from "./data/database.js";
import { seedIfEmpty } from "./data/seed.js";

/** Antaeus as the runtime serves it (main.ts), or as a test builds it in-process. */
export const antaeusService: ServiceDefinition<AntaeusConfig, Router> = {
  name: "antaeus",
  loadConfig: (env) => loadAntaeusConfig(env),
  migrations,
  build: async ({ config, sql, logger }) => {
    if (config.seed.enabled) await seedIfEmpty(createDb(sql), config.seed, logger);
    const metrics = createHttpMetrics();
    const billing = createBilling(sql, config.billing, config.events, logger, metrics.registry);
    registerOverviewMetrics(metrics.registry, sql, logger, config.billing.providerRateLimit);
    logger.info(
      { provider: config.billing.providerEndpoint, tokenFile: config.billing.tokenFile ?? null },
      "billing through the payment provider",
    );
    const closeMetrics =
      config.metricsPort === undefined
        ? undefined
        : await serveMetricsAlone(metrics, { port: config.metricsPort, host: config.host }, logger);
    return {
      app: antaeusApp({
        sql,
        logger,
        engine: billing.engine,
        metrics,
        auth: config.auth,
        providerRateLimit: config.billing.providerRateLimit,
      }),
      onListening: (port) => billing.lanes.listeningOn(port),
      onShutdown: () => billing.engine.stop(),
      cleanups: [billing.close, ...(closeMetrics ? [closeMetrics] : [])],
    };
  },
};
