import { requireDatabaseUrl, type ServiceConfig } from "./config.js";
import { type Migrations, migrateUnderLock } from "./database.js";
import { createLogger } from "./logger.js";

/**
 * A function's one-off migration (`npm run migrate`, or a Kubernetes Job running the image's
 * migrate.mjs): the same locked migrator as start-up, against DATABASE_URL only.
 */
export async function migrateCommand(
  name: string,
  loadConfig: () => ServiceConfig,
  migrations: Migrations,
): Promise<void> {
  try {
    const config = loadConfig();
    const url = requireDatabaseUrl(config);
    const logger = createLogger(`${name}-migrate`, config.logLevel);
    await migrateUnderLock(url, migrations, logger);
  } catch (error) {
    process.stderr.write(`${name} migrate: ${error instanceof Error ? error.message : error}\n`);
    process.exit(1);
  }
}
