import { antaeusService } from "../../functions/antaeus/service.js";
import { paymentService } from "../../functions/payment/service.js";
import type {
  Router,
  ServiceConfig,
  ServiceDefinition,
  Sql,
} from "../../functions/runtime/index.js";
import { connect, migrateIfBehind } from "../../functions/runtime/process/database.js";
import { type RunningServer, startServer } from "../../functions/runtime/process/server.js";
import { createDatabase } from "./database.js";
import { memoryLogger } from "./memory-logger.js";

export interface InProcessApp<C extends ServiceConfig> {
  /** The function's real app: `app.request(path, init)` answers as the process would, minus the socket. */
  app: Router;
  config: C;
  /** The app's own pool on its database, for looking at what it wrote. */
  sql: Sql;
  databaseUrl: string;
  /** Its log lines, as JSON objects (level "info" and up). */
  logs: Array<Record<string, unknown>>;
  /** Stops its work (a billing run stops claiming), then closes what it opened. */
  close: () => Promise<void>;
  /**
   * Serves the app on a loopback port through the runtime's own server (its body and header
   * limits, its drain), for a test that needs a socket: a peer that calls it over HTTP, bytes on
   * the wire. `close` then drains the server first.
   */
  listen: () => Promise<string>;
}

/**
 * A function built exactly as its process builds it (the same settings from `env`, the same
 * migrations, the same composition: `functions/<fn>/service.ts`), on a fresh database of the run's
 * PostgreSQL (a copy of its migrated one, database.ts), without a process or a port. For routes, validation, auth decisions, JSON shapes,
 * error codes and SQL; start a process (processes.ts) where the process is the point: signals,
 * kills, drains, the judged flow.
 */
async function inProcess<C extends ServiceConfig>(
  name: "antaeus" | "payment",
  service: ServiceDefinition<C, Router>,
  env: Record<string, string>,
): Promise<InProcessApp<C>> {
  const databaseUrl = await createDatabase(name, { migratedFor: name });
  const config = service.loadConfig({ ...env, DATABASE_URL: databaseUrl });
  const { logger, lines } = memoryLogger();
  const sql = await connect(databaseUrl, { max: config.databasePoolMax, logger });
  await migrateIfBehind(sql, databaseUrl, service.migrations, logger);
  const built = await service.build({ config, sql, logger });
  const cleanups = [...(built.cleanups ?? []), () => sql.end({ timeout: 1 })];
  let server: RunningServer | undefined;
  return {
    app: built.app,
    config,
    sql,
    databaseUrl,
    logs: lines,
    close: async () => {
      if (server) return server.shutdown("test finished");
      built.onShutdown?.();
      for (const cleanup of cleanups) await cleanup();
    },
    listen: async () => {
      server ??= await startServer({
        app: built.app,
        port: 0,
        hostname: "127.0.0.1",
        logger,
        shutdownTimeoutMs: config.shutdownTimeoutMs,
        ...(built.onShutdown ? { onShutdown: built.onShutdown } : {}),
        cleanups,
      });
      built.onListening?.(server.port);
      return `http://127.0.0.1:${server.port}`;
    },
  };
}

/**
 * The real Antaeus, billing engine included. It seeds as the process does (SEED_* settings; give
 * SEED_ENABLED "false" for no invoices) and calls payment at PAYMENT_PROVIDER_ENDPOINT. A run
 * that outlives BILLING_REQUEST_BUDGET_MS cannot continue itself: there is no port to call.
 */
export const inProcessAntaeus = (env: Record<string, string> = {}) =>
  inProcess("antaeus", antaeusService, env);

/** The real payment function; PAYMENT_AUTH must be given, as for its process. */
export const inProcessPayment = (env: Record<string, string>) =>
  inProcess("payment", paymentService, env);
