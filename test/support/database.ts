import { randomBytes } from "node:crypto";
import postgres from "postgres";
import { inject } from "vitest";

/**
 * A fresh database on the test server; its URL. Empty, or with `migratedFor` a copy of the run's
 * database that the function's own migrate command migrated (global-setup.ts): the function then
 * finds every migration applied, as on any start after its first, and migrates nothing.
 */
export async function createDatabase(
  prefix: string,
  options: { migratedFor?: "antaeus" | "payment" } = {},
): Promise<string> {
  const serverUrl = inject("postgresUrl");
  const name = `${prefix}_${randomBytes(4).toString("hex")}`;
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
  try {
    if (options.migratedFor) {
      const template = inject("migratedDatabases")[options.migratedFor];
      await admin`create database ${admin(name)} template ${admin(template)}`;
    } else {
      await admin`create database ${admin(name)}`;
    }
  } finally {
    await admin.end();
  }
  return databaseUrl(serverUrl, name);
}

/** The URL of database `name` on the server at `serverUrl`. */
export function databaseUrl(serverUrl: string, name: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** A plain postgres.js client for looking at what a service wrote. */
export const openSql = (url: string) => postgres(url, { max: 4, onnotice: () => {} });
