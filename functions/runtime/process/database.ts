import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { drizzle } from "drizzle-orm/postgres-js";
import { migrate } from "drizzle-orm/postgres-js/migrator";
import postgres from "postgres";
import type { Logger } from "../logger.js";
import { databaseClient } from "./database-tls.js";

export type Sql = postgres.Sql;

/**
 * The function's pool, once the database answers (see waitForDatabase). That first query matters
 * too: postgres.js learns the server's array types on its first connection, and a query that
 * passes an array before then is sent malformed.
 */
export async function connect(url: string, options: { max: number; logger: Logger }): Promise<Sql> {
  const client = databaseClient(url);
  const sql = postgres(client.url, {
    ssl: client.ssl,
    max: options.max,
    idle_timeout: 30,
    connect_timeout: 10,
    backoff: reconnectDelaySeconds,
    onnotice: (notice) => options.logger.debug({ notice: notice.message }, "postgres notice"),
  });
  try {
    await waitForDatabase(sql, options.logger);
  } catch (error) {
    await sql.end({ timeout: 1 });
    throw error;
  }
  return sql;
}

/**
 * Seconds the pool waits before connecting again after `retries` failed attempts in a row:
 * doubling from 50 ms to at most 1 s. postgres.js's own delay grows to 20 s (3^retries / 100:
 * `backoff` in postgres 3.4.9's src/index.js), and the count is the pool's (connection.js,
 * `options.shared.retries`), so an outage of a few seconds that many queries met left the
 * function unready for 10 to 20 s after its database was back. A refused connection costs the
 * server next to nothing.
 */
const reconnectDelaySeconds = (retries: number) => Math.min(0.05 * 2 ** retries, 1);

/** Errors of a database that is still coming up; anything else (a wrong password) fails at once. */
const NOT_READY_YET = [
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ETIMEDOUT",
  "CONNECT_TIMEOUT",
  "57P03", // the database system is starting up
  "3D000", // database does not exist (yet)
];

/**
 * Waits for the database to accept a query, with backoff, up to `timeoutMs`: on Kubernetes a
 * function may start before its PostgreSQL is ready, and retrying here beats a crash loop.
 */
async function waitForDatabase(sql: Sql, logger: Logger, timeoutMs = 60_000) {
  const until = performance.now() + timeoutMs;
  for (let attempt = 0; ; attempt++) {
    try {
      await sql`select 1`;
      return;
    } catch (error) {
      const code = (error as { code?: string }).code ?? "";
      if (!NOT_READY_YET.includes(code) || performance.now() >= until) throw error;
      const delay = Math.min(5_000, 250 * 2 ** attempt);
      const reason = error instanceof Error ? error.message : String(error);
      logger.warn({ code, reason, retryInMs: delay }, "database not reachable yet; waiting");
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}

export interface Migrations {
  folder: string;
  /** Name of the PostgreSQL advisory lock that serialises concurrent migrators of one schema. */
  lockName: string;
  /** Where drizzle keeps its bookkeeping table; one per function so two functions can share a server. */
  bookkeepingSchema: string;
}

/**
 * drizzle's migrator takes no lock, so two instances starting at once would both apply the
 * same migration. A session advisory lock, held on the migrator's own connection, lets the
 * first apply and the rest find nothing left to do.
 */
export async function migrateUnderLock(url: string, migrations: Migrations, logger: Logger) {
  const client = databaseClient(url);
  const sql = postgres(client.url, { ssl: client.ssl, max: 1, onnotice: () => {} });
  try {
    await sql`select pg_advisory_lock(hashtext(${migrations.lockName}))`;
    const started = performance.now();
    await migrate(drizzle(sql), {
      migrationsFolder: migrations.folder,
      migrationsSchema: migrations.bookkeepingSchema,
    });
    logger.info({ durationMs: Math.round(performance.now() - started) }, "migrations applied");
    await sql`select pg_advisory_unlock(hashtext(${migrations.lockName}))`;
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/**
 * Migrations on start, for the common case in one query on the pool: a schema that already holds
 * every migration this build ships needs no migrator, its own connection, or its lock.
 */
export async function migrateIfBehind(
  sql: Sql,
  url: string,
  migrations: Migrations,
  logger: Logger,
): Promise<void> {
  const current = await checkSchemaCurrent(sql, migrations).then(
    () => true,
    () => false,
  );
  if (!current) await migrateUnderLock(url, migrations, logger);
}

/** Readiness: the database answers and holds every migration this build ships. */
export async function checkSchemaCurrent(sql: Sql, migrations: Migrations): Promise<void> {
  const latest = await latestMigration(migrations.folder);
  const table = sql(`${migrations.bookkeepingSchema}.__drizzle_migrations`);
  let applied: number;
  try {
    const [row] = await sql<
      [{ latest: string | null }]
    >`select max(created_at) as latest from ${table}`;
    applied = Number(row.latest ?? 0);
  } catch (error) {
    if ((error as { code?: string }).code === "42P01") throw new Error("schema not migrated");
    throw error;
  }
  if (applied < latest) throw new Error("schema behind the latest migration");
}

const journals = new Map<string, Promise<number>>();

function latestMigration(folder: string): Promise<number> {
  let when = journals.get(folder);
  if (!when) {
    when = readFile(join(folder, "meta", "_journal.json"), "utf8").then((text) => {
      const journal = JSON.parse(text) as { entries: Array<{ when: number }> };
      return Math.max(...journal.entries.map((entry) => entry.when));
    });
    journals.set(folder, when);
  }
  return when;
}
