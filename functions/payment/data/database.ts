import { fileURLToPath } from "node:url";
import { drizzle, type PostgresJsDatabase } from "drizzle-orm/postgres-js";
import type { Migrations, Sql } from "../../runtime/index.js";
import * as schema from "./schema.js";

export type Db = PostgresJsDatabase<typeof schema> & { $client: Sql };

/** The one place payment's drizzle instance is built. */
export const createDb = (sql: Sql): Db => drizzle(sql, { schema });

// Resolved next to this module in the sources, and next to the bundle in the image.
export const migrations: Migrations = {
  folder: fileURLToPath(new URL("./migrations", import.meta.url)),
  lockName: "payment.migrations",
  bookkeepingSchema: "payment_drizzle",
};
