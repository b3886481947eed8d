import { ConfigError } from "../config-error.js";
import type { Logger } from "../logger.js";
import { requireDatabaseUrl, type ServiceConfig } from "./config.js";
import { connect, type Migrations, migrateIfBehind, type Sql } from "./database.js";
import { createLogger } from "./logger.js";
import { exitOnSignals, type FetchApp, type RunningServer, startServer } from "./server.js";

/**
 * A function as the runtime serves it: its name, its settings, its migrations and how its app is
 * built. `main.ts` hands it to runService; a test may build the same app in-process.
 */
export interface ServiceDefinition<C extends ServiceConfig, A extends FetchApp = FetchApp> {
  name: string;
  /** Reads the settings from `env` (the process's environment when not given). */
  loadConfig: (env?: Record<string, string | undefined>) => C;
  migrations: Migrations;
  /** Builds the app once the database is migrated; returns it and what to close on shutdown. */
  build: (deps: { config: C; sql: Sql; logger: Logger }) => Promise<{
    app: A;
    /** Told the port once the server listens (PORT=0 picks a free one). */
    onListening?: (port: number) => void;
    /** Called as soon as shutdown begins, before in-flight requests drain: stop taking new work. */
    onShutdown?: () => void;
    cleanups?: Array<() => Promise<void>>;
  }>;
}

/**
 * The life of a function: read config (exit 1 naming the variable), connect to its database
 * (DATABASE_URL), migrate under a lock, serve, and drain on SIGTERM.
 */
export async function runService<C extends ServiceConfig, A extends FetchApp>(
  definition: ServiceDefinition<C, A>,
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
    const url = requireDatabaseUrl(config);
    const sql = await connect(url, { max: config.databasePoolMax, logger });
    if (config.migrateOnStart) await migrateIfBehind(sql, url, definition.migrations, logger);
    const built = await definition.build({ config, sql, logger });
    const running = await startServer({
      app: built.app,
      port: config.port,
      hostname: config.host,
      logger,
      shutdownTimeoutMs: config.shutdownTimeoutMs,
      ...(built.onShutdown ? { onShutdown: built.onShutdown } : {}),
      cleanups: [...(built.cleanups ?? []), () => sql.end({ timeout: 5 })],
    });
    built.onListening?.(running.port);
    logger.info(
      { host: config.host, port: running.port },
      `listening on http://localhost:${running.port}`,
    );
    exitOnSignals(running, logger, config.shutdownTimeoutMs);
    return running;
  } catch (error) {
    if (error instanceof ConfigError) refuse(error);
    logger.fatal({ err: error }, "failed to start");
    process.exit(1);
  }
}
