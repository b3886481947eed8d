// One-off migration (`npm run migrate`, or a Kubernetes Job): the same locked migrator as start-up.
import { ConfigError } from "../runtime/config.js";
import { migrateUnderLock } from "../runtime/database.js";
import { createLogger } from "../runtime/logger.js";
import { loadAntaeusConfig } from "./config.js";
import { migrations } from "./data/database.js";

try {
  const config = loadAntaeusConfig();
  const logger = createLogger("antaeus-migrate", config.logLevel);
  if (!config.databaseUrl) throw new ConfigError("DATABASE_URL: is required to migrate");
  await migrateUnderLock(config.databaseUrl, migrations, logger);
} catch (error) {
  process.stderr.write(`antaeus migrate: ${error instanceof Error ? error.message : error}\n`);
  process.exit(1);
}
