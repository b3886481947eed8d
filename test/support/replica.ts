import { antaeusApp } from "../../functions/antaeus/app.js";
import { createBilling } from "../../functions/antaeus/billing/index.js";
import { loadAntaeusConfig } from "../../functions/antaeus/config.js";
import { createDb, migrations } from "../../functions/antaeus/data/database.js";
import { seedIfEmpty } from "../../functions/antaeus/data/seed.js";
import {
  connect,
  createHttpMetrics,
  migrateUnderLock,
  startServer,
} from "../../functions/runtime/index.js";
import { memoryLogger } from "./memory-logger.js";

export interface Replica {
  url: string;
  /** Signs its attempts and lanes. */
  worker: string;
  logs: Array<Record<string, unknown>>;
  stop: () => Promise<void>;
}

/**
 * An Antaeus replica inside the test's own process, on a port of its own: the real app, engine
 * and lanes on a real PostgreSQL, for behaviour that is about how replicas share the database,
 * not about processes (a rate limit, a 429 met by one lane). `worker` names it in the attempts.
 */
export async function startReplica(env: Record<string, string>, worker: string): Promise<Replica> {
  const config = loadAntaeusConfig(env);
  const { logger, lines } = memoryLogger();
  const url = config.databaseUrl as string;
  await migrateUnderLock(url, migrations, logger);
  const sql = await connect(url, { max: config.databasePoolMax, logger });
  if (config.seed.enabled) await seedIfEmpty(createDb(sql), config.seed, logger);
  const metrics = createHttpMetrics();
  const billing = createBilling(
    sql,
    config.billing,
    config.events,
    logger,
    metrics.registry,
    worker,
  );
  const app = antaeusApp({
    sql,
    logger,
    engine: billing.engine,
    metrics,
    auth: config.auth,
    providerRateLimit: config.billing.providerRateLimit,
  });
  const server = await startServer({
    app,
    port: 0,
    hostname: "127.0.0.1",
    logger,
    shutdownTimeoutMs: 10_000,
    onShutdown: () => billing.engine.stop(),
    cleanups: [billing.close, () => sql.end({ timeout: 5 })],
  });
  billing.lanes.listeningOn(server.port);
  return {
    url: `http://127.0.0.1:${server.port}`,
    worker,
    logs: lines,
    stop: () => server.shutdown("the test is done"),
  };
}
