import { describe, expect, it } from "vitest";
import { startFunction } from "../support/processes.js";
import {
  exactlyOnceViolations,
  pay,
  type System,
  startSystem,
  statusCounts,
  waitForRun,
} from "../support/system.js";

// Short timeouts and leases so a crashed worker's invoices are taken over within seconds.
const FAST_RECOVERY = { PAYMENT_TIMEOUT_MS: "500", PAYMENT_RETRIES: "0", BILLING_LEASE_MS: "1500" };

/**
 * SIGKILLs the only replica once it has paid 50 invoices, then starts a successor. Returns the
 * successor and how many invoices the dead replica held (PROCESSING) when it died.
 */
async function killMidRun(system: System) {
  const doomed = system.antaeus[0]!;
  void pay(doomed.url).catch(() => undefined);
  await expect
    .poll(async () => (await statusCounts(system)).PAID ?? 0, { timeout: 20_000, interval: 50 })
    .toBeGreaterThan(50);
  await doomed.stop("SIGKILL");
  const held = (await statusCounts(system)).PROCESSING ?? 0;
  const successor = await startFunction("antaeus", system.antaeusEnv);
  system.antaeus.push(successor);
  return { successor, held };
}

describe("every due invoice is charged at most once", () => {
  it("with 3 Antaeus replicas and 5 concurrent pay calls", async () => {
    const system = await startSystem({ replicas: 3, payment: { PAYMENT_LATENCY_MS: "2-10" } });
    try {
      const calls = await Promise.all(
        Array.from({ length: 5 }, (_, i) => pay(system.antaeus[i % 3]!.url)),
      );
      const runIds = new Set(calls.map((call) => call.body.id));
      expect(runIds.size).toBe(1); // all five joined one run
      expect(calls.filter((call) => call.body.created)).toHaveLength(1);
      expect(calls.every((call) => call.status === 200 && call.body.status === "COMPLETED")).toBe(
        true,
      );
      const counts = await statusCounts(system);
      expect((counts.PAID ?? 0) + (counts.DECLINED ?? 0)).toBe(1000);
      expect(await exactlyOnceViolations(system)).toEqual([]);
      // The replicas shared the run: more than one of them charged invoices.
      const workers = system.antaeus.filter((a) =>
        a.logs.some((l) => l.msg === "billing run completed" || l.msg === "joined billing run"),
      );
      expect(workers.length).toBeGreaterThan(1);
    } finally {
      await system.stop();
    }
  });

  it("when a replica is killed (SIGKILL) mid-run and a new one finishes the run", async () => {
    const system = await startSystem({
      antaeus: { ...FAST_RECOVERY, BILLING_CONCURRENCY: "8" },
      payment: { PAYMENT_LATENCY_MS: "20" },
    });
    try {
      const { successor, held } = await killMidRun(system);
      expect(held).toBeGreaterThan(0); // killed with charges in the air
      const { status, body } = await pay(successor.url);
      expect(status).toBe(200);
      expect(body).toMatchObject({ status: "COMPLETED", created: false, total: 1000, done: 1000 });
      expect(await exactlyOnceViolations(system)).toEqual([]);
    } finally {
      await system.stop();
    }
  });

  it("with a provider that ignores keys, when a replica is SIGKILLed mid-run: its charges in flight end OUTCOME_UNKNOWN, none is sent again", async () => {
    const system = await startSystem({
      antaeus: { ...FAST_RECOVERY, BILLING_CONCURRENCY: "8", PAYMENT_PROVIDER_IDEMPOTENT: "false" },
      payment: { PAYMENT_LATENCY_MS: "20" },
    });
    try {
      // Held by the dead worker: charges in flight, and answers whose verdicts were not written.
      const { successor, held } = await killMidRun(system);
      const heldIds = await system.antaeusDb<Array<{ id: number }>>`
        select id from invoices where status = 'PROCESSING'`;
      expect(heldIds).toHaveLength(held);
      const { body } = await pay(successor.url);
      expect(body).toMatchObject({ status: "COMPLETED", total: 1000, done: 1000 });
      expect(held).toBeGreaterThan(0);
      const after = await system.antaeusDb<Array<{ status: string }>>`
        select status from invoices where id in ${system.antaeusDb(heldIds.map((r) => r.id))}`;
      expect(new Set(after.map((r) => r.status))).toEqual(new Set(["OUTCOME_UNKNOWN"]));
      const resent = await system.ledgerDb`
        select invoice_id from payment.charges group by invoice_id having count(*) > 1`;
      expect(resent).toEqual([]);
      const [mismatch] = await system.ledgerDb<[{ n: number }]>`
        select count(*)::int as n from payment.charges where status = 'succeeded'`;
      const counts = await statusCounts(system);
      // Every successful charge is PAID, or among the invoices a person must look at.
      expect(mismatch.n).toBeGreaterThanOrEqual(counts.PAID ?? 0);
      expect(mismatch.n).toBeLessThanOrEqual((counts.PAID ?? 0) + (counts.OUTCOME_UNKNOWN ?? 0));
    } finally {
      await system.stop();
    }
  });

  it("when the provider charges and answers after the caller's timeout", async () => {
    const system = await startSystem({
      // The deadline counts everything from dispatch, payment's warm-up burst included: 600 ms
      // leaves room for it on a busy machine; late answers come well after.
      antaeus: { PAYMENT_TIMEOUT_MS: "600", PAYMENT_RETRIES: "2", BILLING_LEASE_MS: "15000" },
      payment: { PAYMENT_LATE_REPLY_MS: "1500", PAYMENT_LATE_REPLY_RATE: "0.2" },
    });
    try {
      const { body } = await pay(system.antaeus[0]!.url);
      expect(body.status).toBe("COMPLETED");
      expect(await exactlyOnceViolations(system)).toEqual([]);
      // Timed-out calls were asked again under the same key and got the recorded outcome.
      const retried = await system.antaeusDb<
        Array<{ invoice_id: number; keys: number; unknown: number; final: string }>
      >`
        select invoice_id, count(distinct idempotency_key)::int as keys,
               count(*) filter (where outcome = 'UNKNOWN')::int as unknown,
               (array_agg(outcome order by attempt_number desc))[1] as final
        from payment_attempts group by invoice_id having count(*) > 1`;
      expect(retried.length).toBeGreaterThan(100);
      for (const invoice of retried) {
        expect(invoice.keys).toBe(1);
        expect(invoice.unknown).toBeGreaterThan(0);
        expect(["PAID", "DECLINED"]).toContain(invoice.final);
      }
      const [ledger] = await system.ledgerDb`select count(*)::int as n from payment.charges`;
      expect(ledger?.n).toBe(1000); // one ledger row per invoice, however often it was asked
    } finally {
      await system.stop();
    }
  });

  it("when the provider answers 503 (honouring Retry-After), and NETWORK_ERROR keeps its key for the next run", async () => {
    const system = await startSystem({
      antaeus: { PAYMENT_RETRIES: "1", BILLING_CONCURRENCY: "64" },
      payment: { PAYMENT_ERROR_RATE: "0.5" },
    });
    try {
      const first = await pay(system.antaeus[0]!.url);
      expect(first.body.status).toBe("COMPLETED");
      expect(first.body.counts.NETWORK_ERROR).toBeGreaterThan(100); // 0.5² of 1000, give or take
      expect(await exactlyOnceViolations(system)).toEqual([]);
      const kept = await system.antaeusDb<Array<{ id: number; attempt_key: string | null }>>`
        select id, attempt_key from invoices where status = 'NETWORK_ERROR'`;
      expect(kept.every((invoice) => invoice.attempt_key !== null)).toBe(true);
      // Retry-After: 1 was honoured between the two calls of an attempt.
      const [gap] = await system.antaeusDb<[{ min_ms: number }]>`
        select min(extract(epoch from (b.attempted_at - a.attempted_at)) * 1000)::int as min_ms
        from payment_attempts a join payment_attempts b
          on b.invoice_id = a.invoice_id and b.attempt_number = a.attempt_number + 1
        where a.http_status = 503`;
      expect(gap.min_ms).toBeGreaterThanOrEqual(900);

      const second = await pay(system.antaeus[0]!.url);
      expect(second.body.status).toBe("COMPLETED");
      const sample = kept[0]!;
      const keys = await system.antaeusDb<Array<{ idempotency_key: string }>>`
        select distinct idempotency_key from payment_attempts where invoice_id = ${sample.id}`;
      expect(keys.map((k) => k.idempotency_key)).toEqual([sample.attempt_key]);
      expect(await exactlyOnceViolations(system)).toEqual([]);
    } finally {
      await system.stop();
    }
  });

  it("when Antaeus's database connections are dropped mid-run", async () => {
    const system = await startSystem({
      antaeus: { ...FAST_RECOVERY, BILLING_CONCURRENCY: "8" },
      payment: { PAYMENT_LATENCY_MS: "10" },
    });
    try {
      const url = system.antaeus[0]!.url;
      const running = pay(url);
      const [{ datname }] = await system.antaeusDb<
        [{ datname: string }]
      >`select current_database() as datname`;
      for (let i = 0; i < 3; i++) {
        await new Promise((resolve) => setTimeout(resolve, 300));
        await system.antaeusDb`
          select pg_terminate_backend(pid) from pg_stat_activity
          where datname = ${datname} and pid <> pg_backend_pid()`;
      }
      const first = await running;
      expect([200, 202, 503]).toContain(first.status);
      // Whatever the first call saw, pay calls finish the run without a double charge.
      let last = first;
      for (let i = 0; i < 10 && last.body.status !== "COMPLETED"; i++) last = await pay(url);
      const run = await waitForRun(
        url,
        (await system.antaeusDb`select max(id) as id from billing_runs`)[0]!.id,
      );
      expect(run.done).toBe(run.total);
      expect(await exactlyOnceViolations(system)).toEqual([]);
    } finally {
      await system.stop();
    }
  });
});
