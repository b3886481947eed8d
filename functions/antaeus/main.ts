import { runService } from "../runtime/service.js";
import { antaeusApp } from "./app.js";
import { loadAntaeusConfig } from "./config.js";
import { createDb, migrations } from "./data/database.js";
import { seedIfEmpty } from "./data/seed.js";

await runService({
  name: "antaeus",
  loadConfig: () => loadAntaeusConfig(),
  migrations,
  build: async ({ config, sql, logger }) => {
    if (config.seed.enabled) await seedIfEmpty(createDb(sql), config.seed, logger);
    return { app: antaeusApp({ sql, logger }) };
  },
});
