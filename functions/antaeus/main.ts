import { createHttpMetrics, runService } from "../runtime/index.js";
import { antaeusApp } from "./app.js";
import { createBilling } from "./billing/index.js";
import { loadAntaeusConfig } from "./config.js";
import { createDb, migrations } from "./data/database.js";
import { seedIfEmpty } from "./data/seed.js";

await runService({
  name: "antaeus",
  loadConfig: () => loadAntaeusConfig(),
  migrations,
  build: async ({ config, sql, logger }) => {
    if (config.seed.enabled) await seedIfEmpty(createDb(sql), config.seed, logger);
    const metrics = createHttpMetrics();
    const billing = createBilling(sql, config.billing, config.events, logger, metrics.registry);
    logger.info(
      { provider: config.billing.providerEndpoint, tokenFile: config.billing.tokenFile ?? null },
      "billing through the payment provider",
    );
    return {
      app: antaeusApp({ sql, logger, engine: billing.engine, metrics }),
      onListening: (port) => billing.continuations.listeningOn(port),
      onShutdown: () => billing.engine.stop(),
      cleanups: [billing.close],
    };
  },
});
