// One-off migration (a Kubernetes Job, or by hand): the same locked migrator as start-up.
import { ConfigError } from "../runtime/config.js";
import { migrateUnderLock } from "../runtime/database.js";
import { createLogger } from "../runtime/logger.js";
import { loadPaymentConfig } from "./config.js";
import { migrations } from "./data/database.js";

try {
  const config = loadPaymentConfig();
  const logger = createLogger("payment-migrate", config.logLevel);
  if (!config.databaseUrl) throw new ConfigError("DATABASE_URL: is required to migrate");
  await migrateUnderLock(config.databaseUrl, migrations, logger);
} catch (error) {
  process.stderr.write(`payment migrate: ${error instanceof Error ? error.message : error}\n`);
  process.exit(1);
}
