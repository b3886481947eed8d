import { antaeusService } from "../../functions/antaeus/service.js";
import { connect, migrateUnderLock } from "../../functions/runtime/process/database.js";
import { startServer } from "../../functions/runtime/process/server.js";
import { memoryLogger } from "./memory-logger.js";

export interface Replica {
  url: string;
  logs: Array<Record<string, unknown>>;
  stop: () => Promise<void>;
}

/**
 * An Antaeus replica inside the test's own process, built by `functions/antaeus/service.ts` as
 * its process builds it and served on a port of its own (lanes reach it over HTTP), on the
 * database `env` names: for behaviour that is about replicas sharing that database, not about
 * processes (a rate limit, a 429 one lane meets). in-process.ts has no port; processes.ts starts
 * a process where the process is the point.
 */
export async function startReplica(env: Record<string, string>): Promise<Replica> {
  const config = antaeusService.loadConfig(env);
  const { logger, lines } = memoryLogger();
  const url = env.DATABASE_URL as string;
  await migrateUnderLock(url, antaeusService.migrations, logger);
  const sql = await connect(url, { max: config.databasePoolMax, logger });
  const built = await antaeusService.build({ config, sql, logger });
  const server = await startServer({
    app: built.app,
    port: 0,
    hostname: "127.0.0.1",
    logger,
    shutdownTimeoutMs: 10_000,
    ...(built.onShutdown ? { onShutdown: built.onShutdown } : {}),
    cleanups: [...(built.cleanups ?? []), () => sql.end({ timeout: 5 })],
  });
  built.onListening?.(server.port);
  return {
    url: `http://127.0.0.1:${server.port}`,
    logs: lines,
    stop: () => server.shutdown("the test is done"),
  };
}
