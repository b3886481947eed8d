import { randomBytes } from "node:crypto";
import postgres from "postgres";
import { inject } from "vitest";

/** A fresh, empty database on the test server; its URL. */
export async function createDatabase(prefix: string): Promise<string> {
  const serverUrl = inject("postgresUrl");
  const name = `${prefix}_${randomBytes(4).toString("hex")}`;
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
  try {
    await admin`create database ${admin(name)}`;
  } finally {
    await admin.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** A plain postgres.js client for looking at what a service wrote. */
export const openSql = (url: string) => postgres(url, { max: 4, onnotice: () => {} });
