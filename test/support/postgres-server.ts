import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type EmbeddedPostgres, startEmbeddedPostgres } from "../../dev/embedded-postgres.js";

export interface PrivatePostgres {
  /** A database on this server, created if missing; its URL. */
  database: (name: string) => Promise<string>;
  /** Stops the server as an outage would, keeping its data. */
  stop: () => Promise<void>;
  /** Starts it again on the same port with the same data. */
  start: () => Promise<void>;
  /** Stops it for good and deletes its data. */
  remove: () => Promise<void>;
}

/**
 * A PostgreSQL server of a test's own, for tests that take the database away: the shared test
 * server must stay up for everyone else.
 */
export async function privatePostgres(): Promise<PrivatePostgres> {
  const dataDir = await mkdtemp(join(tmpdir(), "antaeus-private-pg-"));
  let server: EmbeddedPostgres | undefined = await startEmbeddedPostgres({
    dataDir,
    persistent: true,
    fast: true,
    stopWithParent: true,
  });
  const port = server.port;
  return {
    database: (name) => {
      if (!server) throw new Error("the private PostgreSQL server is stopped");
      return server.ensureDatabase(name);
    },
    stop: async () => {
      await server?.stop();
      server = undefined;
    },
    start: async () => {
      server ??= await startEmbeddedPostgres({
        dataDir,
        persistent: true,
        fast: true,
        port,
        stopWithParent: true,
      });
    },
    remove: async () => {
      await server?.stop();
      server = undefined;
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
