import { is } from "drizzle-orm";
import { getTableConfig, PgTable } from "drizzle-orm/pg-core";
import { afterAll, describe, expect, it } from "vitest";
import { createDb, migrations } from "../../functions/antaeus/data/database.js";
import * as schema from "../../functions/antaeus/data/schema.js";
import { seedIfEmpty } from "../../functions/antaeus/data/seed.js";
import { migrateUnderLock } from "../../functions/runtime/process/database.js";
import { createLogger } from "../../functions/runtime/process/logger.js";
import { createDatabase, openSql } from "../support/database.js";
import { inProcessAntaeus } from "../support/in-process.js";

const logger = createLogger("test", "silent");
const clients: Array<ReturnType<typeof openSql>> = [];
afterAll(() => Promise.all(clients.map((sql) => sql.end())));

async function migratedDatabase(prefix: string) {
  const url = await createDatabase(prefix);
  await migrateUnderLock(url, migrations, logger);
  const sql = openSql(url);
  clients.push(sql);
  return { url, sql, db: createDb(sql) };
}

const options = { seed: 7, customers: 100, invoicesPerCustomer: 10, lastPeriod: "2026-10-01" };
type Column = { table_name: string; column_name: string };
const snapshot = (sql: ReturnType<typeof openSql>) =>
  sql`select c.id, c.currency, i.id as invoice, i.amount_minor, i.status, i.period
      from customers c join invoices i on i.customer_id = c.id order by i.id`;

describe("migrations", () => {
  it("build, from an empty database, every table and column the code declares", async () => {
    const { sql } = await migratedDatabase("migrate");
    const byName = (a: Column, b: Column) =>
      `${a.table_name}.${a.column_name}` < `${b.table_name}.${b.column_name}` ? -1 : 1;
    const columns = await sql<Column[]>`
      select table_name, column_name from information_schema.columns
      where table_schema = 'public'`;
    const declared = Object.values(schema)
      .filter((table) => is(table, PgTable))
      .flatMap((table) => {
        const { name, columns } = getTableConfig(table as PgTable);
        return columns.map((column) => ({ table_name: name, column_name: column.name }));
      });
    expect(declared.length).toBeGreaterThan(0);
    expect([...columns].sort(byName)).toEqual(declared.sort(byName));
  });

  it("are a no-op the second time", async () => {
    const { url, sql } = await migratedDatabase("remigrate");
    await migrateUnderLock(url, migrations, logger);
    const applied = await sql`select count(*)::int as n from drizzle.__drizzle_migrations`;
    const journal = await import("../../functions/antaeus/data/migrations/meta/_journal.json", {
      with: { type: "json" },
    });
    expect(applied[0]?.n).toBe(journal.default.entries.length);
  });
});

describe("seed", () => {
  it("writes the original's scale: 100 customers, 10 invoices each in its currency, 10.00–500.00, all PENDING", async () => {
    const { sql, db } = await migratedDatabase("seedscale");
    expect(await seedIfEmpty(db, options, logger)).toBe(true);
    const rows = await snapshot(sql);
    expect(rows).toHaveLength(1000);
    expect(new Set(rows.map((r) => r.id)).size).toBe(100);
    const invoices =
      await sql`select i.currency = c.currency as same, amount_minor::bigint as minor, status
                               from invoices i join customers c on c.id = i.customer_id`;
    for (const invoice of invoices) {
      expect(invoice.same).toBe(true);
      expect(BigInt(invoice.minor)).toBeGreaterThanOrEqual(1000n);
      expect(BigInt(invoice.minor)).toBeLessThanOrEqual(50000n);
      expect(invoice.status).toBe("PENDING");
    }
    const periods = await sql`select distinct period::text as p from invoices order by 1`;
    expect(periods.map((p) => p.p)).toEqual([
      "2026-01-01",
      "2026-02-01",
      "2026-03-01",
      "2026-04-01",
      "2026-05-01",
      "2026-06-01",
      "2026-07-01",
      "2026-08-01",
      "2026-09-01",
      "2026-10-01",
    ]);
  });

  it("is deterministic: the same seed gives the same data, another seed other data", async () => {
    const a = await migratedDatabase("seeda");
    const b = await migratedDatabase("seedb");
    const c = await migratedDatabase("seedc");
    await seedIfEmpty(a.db, options, logger);
    await seedIfEmpty(b.db, options, logger);
    await seedIfEmpty(c.db, { ...options, seed: 8 }, logger);
    const [rowsA, rowsB, rowsC] = await Promise.all([
      snapshot(a.sql),
      snapshot(b.sql),
      snapshot(c.sql),
    ]);
    expect(rowsB).toEqual(rowsA);
    expect(rowsC).not.toEqual(rowsA);
  });

  it("never writes into a database that holds data", async () => {
    const { sql, db } = await migratedDatabase("reseed");
    await seedIfEmpty(db, options, logger);
    await sql`update invoices set status = 'PAID' where id = 1`;
    expect(await seedIfEmpty(db, { ...options, seed: 99 }, logger)).toBe(false);
    const [count] = await sql`select count(*)::int as n from invoices`;
    expect(count?.n).toBe(1000);
    const [first] = await sql`select status from invoices where id = 1`;
    expect(first?.status).toBe("PAID");
  });
});

describe("several instances", () => {
  // Two apps built side by side, each with its own pool, as two replicas start: what keeps them
  // apart is PostgreSQL's (the migration lock, the seed's check), not anything in a process.
  it("two instances starting against one empty database migrate and seed it once", async () => {
    const url = await createDatabase("twostarts");
    const [one, two] = await Promise.all([inProcessAntaeus({}, url), inProcessAntaeus({}, url)]);
    try {
      for (const instance of [one, two]) {
        expect((await instance.app.request("/readyz")).status).toBe(200);
        const invoices = (await (
          await instance.app.request("/rest/v1/invoices")
        ).json()) as unknown[];
        expect(invoices).toHaveLength(1000);
      }
      const seeded = [...one.logs, ...two.logs].filter((l) => l.msg === "seeded an empty database");
      expect(seeded).toHaveLength(1);
    } finally {
      await Promise.all([one.close(), two.close()]);
    }
  });
});
