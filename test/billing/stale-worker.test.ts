import { hostname } from "node:os";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDatabase, openSql } from "../support/database.js";
import { type FunctionProcess, startFunction } from "../support/processes.js";
import { keyedProvider, type StandIn, startStandIn } from "../support/stand-in.js";
import { pay, type RunBody } from "../support/system.js";

/**
 * A replica that stalls past its lease (a pod frozen or starved of CPU) and then carries on:
 * meanwhile another replica has taken its invoice over and finished it. The stall is made
 * certain, not waited for: the provider freezes the replica (SIGSTOP) the moment its charge
 * arrives, and never answers that call. One invoice, so every step is about that invoice.
 */

let sql: ReturnType<typeof openSql>;
let provider: StandIn;
let charges: Map<number, number>;
let stalling: FunctionProcess;
let other: FunctionProcess;
let frozen: () => void;
const stalled = new Promise<void>((resolve) => {
  frozen = resolve;
});

beforeAll(async () => {
  const keyed = keyedProvider(() => true);
  charges = keyed.charges;
  provider = await startStandIn((call) => {
    const answer = keyed.charge(call);
    if (call.nth > 1) return answer;
    // The first call is charged; its caller freezes before hearing back, and never will.
    stalling.child.kill("SIGSTOP");
    frozen();
    return "hang";
  });
  const databaseUrl = await createDatabase("stale");
  const env = {
    DATABASE_URL: databaseUrl,
    SEED_CUSTOMERS: "1",
    SEED_INVOICES_PER_CUSTOMER: "1",
    SEED_LAST_PERIOD: "2026-10",
    PAYMENT_PROVIDER_ENDPOINT: `${provider.url}/v1/charges`,
    PAYMENT_TIMEOUT_MS: "3000",
    PAYMENT_RETRIES: "0",
    BILLING_LEASE_MS: "3100",
  };
  [stalling, other] = await Promise.all([
    startFunction("antaeus", env),
    startFunction("antaeus", env),
  ]);
  sql = openSql(databaseUrl);
});
afterAll(async () => {
  stalling?.child.kill("SIGCONT");
  await Promise.all([stalling?.stop(), other?.stop()]);
  await sql?.end();
  await provider?.close();
});

const worker = (fn: FunctionProcess) => `${hostname()}/${fn.child.pid}`;

describe("a replica that stalls past its lease", () => {
  it("writes its late verdict to the audit trail only: the invoice another replica charged stays PAID, counted once, and is never charged again", async () => {
    const late = pay(stalling.url);
    await stalled;
    await expect
      .poll(
        async () =>
          (await sql`select lease_expires_at < now() as expired from invoices where id = 1`)[0]
            ?.expired,
        { timeout: 20_000, interval: 100 },
      )
      .toBe(true);

    // The watchdog's call lands on the other replica: it takes the invoice over and asks the
    // provider under the same key, which answers with the charge it made.
    const resumed = await fetch(`${other.url}/rest/v1/billing/resume`, { method: "POST" });
    const { run } = (await resumed.json()) as { run: RunBody };
    expect(run).toMatchObject({ status: "COMPLETED", total: 1, done: 1 });
    expect(run.counts.PAID).toBe(1);

    // The stalled replica wakes, finds its deadline long past and records the outcome unknown:
    // its lane writes that verdict when it ends, after its pay call has seen the run completed.
    stalling.child.kill("SIGCONT");
    expect((await late).status).toBe(200);
    await expect
      .poll(async () => (await sql`select count(*)::int as n from payment_attempts`)[0]?.n, {
        timeout: 15_000,
      })
      .toBe(2);

    const [invoice] = await sql`select status, attempt_key, run_id from invoices where id = 1`;
    expect(invoice).toMatchObject({ status: "PAID", attempt_key: null, run_id: null });
    const [counted] = await sql`select paid, network_error from billing_runs where id = ${run.id}`;
    expect(counted).toMatchObject({ paid: 1, network_error: 0 });
    const attempts = await sql<Array<{ worker: string; outcome: string; idempotency_key: string }>>`
      select worker, outcome, idempotency_key from payment_attempts order by id`;
    expect(attempts).toEqual([
      { worker: worker(other), outcome: "PAID", idempotency_key: provider.calls[0]!.key },
      { worker: worker(stalling), outcome: "UNKNOWN", idempotency_key: provider.calls[0]!.key },
    ]);
    expect(charges.get(1)).toBe(1);

    // Nothing is due: the next pay call is answered with that run, and charges nothing.
    const next = await pay(other.url);
    expect(next.body).toMatchObject({ id: run.id, created: false, status: "COMPLETED" });
    expect(provider.calls).toHaveLength(2);
  });
});
