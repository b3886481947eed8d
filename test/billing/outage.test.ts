import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { pingDelivery } from "../support/cloudevents.js";
import { createDatabase, openSql } from "../support/database.js";
import { type FunctionProcess, startFunction } from "../support/processes.js";
import type { RunBody } from "../support/system.js";
import { startTcpProxy } from "../support/tcp-proxy.js";

/**
 * Database outages as the billing schedule meets them. Each function reaches its PostgreSQL
 * through a relay the test cuts (tcp-proxy.ts): the outage is certain when a request arrives,
 * not a matter of timing.
 *
 * The PingSource's sender (knative/eventing `pkg/adapter/mtping/runner.go`, commit `c67921b3`)
 * sends each tick with cloudevents/sdk-go's retries (5, exponential from 50 ms), the same event
 * (same ce-id) every time, and sdk-go retries only these codes (`v2/protocol/http/protocol.go`,
 * `defaultRetriableErrors`): a 500 is not retried, the tick is lost.
 */
const RETRIED_BY_THE_PINGSOURCE = [404, 413, 425, 429, 502, 503, 504];

let antaeusDb: Awaited<ReturnType<typeof startTcpProxy>>;
let ledgerDb: Awaited<ReturnType<typeof startTcpProxy>>;
let antaeus: FunctionProcess;
let payment: FunctionProcess;
let sql: ReturnType<typeof openSql>;

beforeAll(async () => {
  const [antaeusUrl, ledgerUrl] = await Promise.all([
    createDatabase("outage"),
    createDatabase("outage_ledger"),
  ]);
  [antaeusDb, ledgerDb] = await Promise.all([startTcpProxy(antaeusUrl), startTcpProxy(ledgerUrl)]);
  payment = await startFunction("payment", {
    DATABASE_URL: ledgerDb.url,
    PAYMENT_AUTH: "off",
    PAYMENT_SEED: "1",
  });
  antaeus = await startFunction("antaeus", {
    DATABASE_URL: antaeusDb.url,
    SEED_CUSTOMERS: "5",
    SEED_INVOICES_PER_CUSTOMER: "2",
    SEED_LAST_PERIOD: "2026-10",
    PAYMENT_PROVIDER_ENDPOINT: `${payment.url}/v1/charges`,
  });
  sql = openSql(antaeusUrl);
});
afterEach(() => Promise.all([antaeusDb.restore(), ledgerDb.restore()]));
afterAll(async () => {
  await Promise.all([antaeus?.stop(), payment?.stop()]);
  await sql?.end();
  await Promise.all([antaeusDb?.close(), ledgerDb?.close()]);
});

const tick = pingDelivery({
  source: "antaeus/monthly-billing",
  id: "tick-during-outage",
  time: "2026-12-01T00:00:00Z",
});
/**
 * The tick as the PingSource sends it. A pay call may hold its answer for the run's whole request
 * budget (minutes), so one that stalls says so here, with what Antaeus logged, rather than running
 * into the test's timeout.
 */
const deliver = async () => {
  try {
    const response = await fetch(`${antaeus.url}/rest/v1/invoices/pay`, {
      ...tick,
      signal: AbortSignal.timeout(60_000),
    });
    return { response, body: (await response.json()) as RunBody & { error?: { code: string } } };
  } catch (error) {
    const logged = antaeus.logs.slice(-20).map((line) => JSON.stringify(line));
    throw new Error(`the pay call failed (${error}); Antaeus logged last:\n${logged.join("\n")}`, {
      cause: error,
    });
  }
};
const readyz = async (fn: FunctionProcess) => (await fetch(`${fn.url}/readyz`)).status;

describe("/readyz", () => {
  it("is 503 on both functions while their database is unreachable, and 200 once it answers again, without a restart", async () => {
    // How long the answers take is the driver's business (postgres.js retries a connection with
    // a backoff of up to 20 s); only their status is asserted.
    const outage = async (fn: FunctionProcess, db: typeof antaeusDb) => {
      expect(await readyz(fn)).toBe(200);
      await db.cut();
      try {
        expect(await readyz(fn)).toBe(503);
      } finally {
        await db.restore();
      }
      await expect.poll(() => readyz(fn), { timeout: 45_000, interval: 250 }).toBe(200);
    };
    await Promise.all([outage(antaeus, antaeusDb), outage(payment, ledgerDb)]);
  }, 90_000);

  it("is 503 on both functions while their schema is behind the migrations their build ships", async () => {
    for (const [fn, url, bookkeeping] of [
      [antaeus, antaeusDb.url, "drizzle"],
      [payment, ledgerDb.url, "payment_drizzle"],
    ] as const) {
      const db = openSql(url);
      const table = db(`${bookkeeping}.__drizzle_migrations`);
      try {
        // As if this build's newest migration had not been applied yet (a rollout ahead of it).
        const [newest] = await db<[{ id: number; hash: string; created_at: string }]>`
          delete from ${table} where id = (select max(id) from ${table}) returning *`;
        try {
          expect(await readyz(fn)).toBe(503);
        } finally {
          await db`insert into ${table} (id, hash, created_at)
                   values (${newest.id}, ${newest.hash}, ${newest.created_at})`;
        }
        expect(await readyz(fn)).toBe(200);
      } finally {
        await db.end();
      }
    }
  });
});

describe("the PingSource's tick while Antaeus's database is down", () => {
  it("is answered 503 with Retry-After, a code the PingSource retries; the retry after recovery starts the run, once", async () => {
    await antaeusDb.cut();
    try {
      const { response, body } = await deliver();
      expect(response.status).toBe(503);
      expect(RETRIED_BY_THE_PINGSOURCE).toContain(response.status);
      expect(response.headers.get("retry-after")).toMatch(/^\d+$/);
      expect(body.error?.code).toBe("database_unavailable");
    } finally {
      await antaeusDb.restore();
    }

    // The retry carries the same event: it was never recorded, so now it starts the run.
    const retried = await deliver();
    expect(retried.response.status).toBe(200);
    expect(retried.body).toMatchObject({ trigger: "schedule", created: true, status: "COMPLETED" });
    const again = await deliver();
    expect(again.body).toMatchObject({ id: retried.body.id, created: false });
    const [runs] = await sql`select count(*)::int as n from billing_runs`;
    expect(runs?.n).toBe(1);
  });
});
