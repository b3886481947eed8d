import { ConfigError, type ServiceConfig } from "./config.js";
import { connect, type Migrations, migrateIfBehind, type Sql } from "./database.js";
import { startEmbeddedPostgres } from "./embedded-postgres.js";
import { createLogger, type Logger } from "./logger.js";
import { exitOnSignals, type FetchApp, type RunningServer, startServer } from "./server.js";

export interface ServiceDefinition<C extends ServiceConfig> {
  name: string;
  loadConfig: () => C;
  migrations: Migrations;
  /** Builds the app once the database is migrated; returns it and what to close on shutdown. */
  build: (deps: { config: C; sql: Sql; logger: Logger }) => Promise<{
    app: FetchApp;
    /** Told the port once the server listens (PORT=0 picks a free one). */
    onListening?: (port: number) => void;
    /** Called as soon as shutdown begins, before in-flight requests drain: stop taking new work. */
    onShutdown?: () => void;
    cleanups?: Array<() => Promise<void>>;
  }>;
}

/**
 * The life of a function: read config (exit 1 naming the variable), find its database
 * (the embedded one when DATABASE_URL is unset outside production), migrate under a lock,
 * serve, and drain on SIGTERM.
 */
export async function runService<C extends ServiceConfig>(
  definition: ServiceDefinition<C>,
): Promise<RunningServer> {
  // A problem the operator must fix is one line naming it, not a stack trace.
  const refuse = (error: ConfigError): never => {
    process.stderr.write(`${definition.name}: ${error.message}\n`);
    process.exit(1);
  };
  let config: C;
  try {
    config = definition.loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) refuse(error);
    throw error;
  }
  const logger = createLogger(definition.name, config.logLevel, config.revision);
  try {
    const cleanups: Array<() => Promise<void>> = [];
    let url = config.databaseUrl;
    if (!url) {
      const embedded = await startEmbeddedPostgres({
        dataDir: `.data/${definition.name}-postgres`,
        persistent: true,
        logger,
      });
      url = await embedded.ensureDatabase(definition.name);
      cleanups.push(embedded.stop);
      logger.info(
        { dataDir: `.data/${definition.name}-postgres` },
        "DATABASE_URL unset: using embedded PostgreSQL",
      );
    }
    const sql = await connect(url, { max: config.databasePoolMax, logger });
    if (config.migrateOnStart) await migrateIfBehind(sql, url, definition.migrations, logger);
    const built = await definition.build({ config, sql, logger });
    const running = await startServer({
      app: built.app,
      port: config.port,
      logger,
      shutdownTimeoutMs: config.shutdownTimeoutMs,
      ...(built.onShutdown ? { onShutdown: built.onShutdown } : {}),
      cleanups: [...(built.cleanups ?? []), () => sql.end({ timeout: 5 }), ...cleanups],
    });
    built.onListening?.(running.port);
    logger.info({ port: running.port }, `listening on http://localhost:${running.port}`);
    exitOnSignals(running, logger, config.shutdownTimeoutMs);
    return running;
  } catch (error) {
    if (error instanceof ConfigError) refuse(error);
    logger.fatal({ err: error }, "failed to start");
    process.exit(1);
  }
}
