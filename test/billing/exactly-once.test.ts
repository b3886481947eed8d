import { describe, expect, it } from "vitest";
import { impliedEvents, outboxLines } from "../events/support.js";
import { startFunction } from "../support/processes.js";
import {
  exactlyOnceViolations,
  type FrontedSystem,
  pay,
  startFrontedSystem,
  startSystem,
  statusCounts,
  waitForRun,
} from "../support/system.js";

// Short leases, so a killed worker's invoices are taken over within seconds; a deadline long
// enough that no charge held at the front is given up (and its slot refilled) before the fault.
// 200 invoices (20 customers): the faults below land after 50 charges, whatever the run's size.
const FAST_RECOVERY = {
  SEED_CUSTOMERS: "20",
  PAYMENT_TIMEOUT_MS: "1000",
  PAYMENT_RETRIES: "0",
  BILLING_LEASE_MS: "1200",
};

/**
 * SIGKILLs the only replica with every charge slot taken by a call the provider has charged
 * and not yet answered (after 50 answers the front holds the rest), then starts a successor.
 * Returns it and the invoices the dead replica held (PROCESSING) when it died.
 */
async function killMidRun(system: FrontedSystem, slots: number) {
  const { gate, control } = system;
  const doomed = system.antaeus[0]!;
  control.holdAfter = 50;
  void pay(doomed.url).catch(() => undefined);
  await expect
    .poll(() => gate.held, { timeout: 30_000, interval: 20 })
    .toBeGreaterThanOrEqual(slots);
  await doomed.stop("SIGKILL");
  const held = await system.antaeusDb<Array<{ id: number }>>`
    select id from invoices where status = 'PROCESSING' order by id`;
  control.holdAfter = Number.POSITIVE_INFINITY;
  gate.release();
  const successor = await startFunction("antaeus", system.antaeusEnv);
  system.antaeus.push(successor);
  return { successor, held: held.map((row) => row.id) };
}

describe("every due invoice is charged at most once, when replicas join a run, die in it or lose their database connections", () => {
  it("with 3 Antaeus replicas and 5 concurrent pay calls: all join one run", async () => {
    // That replicas charge one run side by side is shown in claims.test.ts, deterministically.
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
      // Every invoice has its verdict (on a busy machine some may be NETWORK_ERROR: unknown,
      // their keys kept for the next run), and none is charged twice.
      expect(calls.every((call) => call.body.done === 1000)).toBe(true);
      expect(await exactlyOnceViolations(system)).toEqual([]);
    } finally {
      await system.stop();
    }
  });

  it("when a replica is killed (SIGKILL) mid-run, with charges made and unanswered, and a new one finishes the run", async () => {
    const system = await startFrontedSystem({
      antaeus: { ...FAST_RECOVERY, BILLING_CONCURRENCY: "8" },
    });
    try {
      const { successor, held } = await killMidRun(system, 8);
      // The eight charges in the air, and the batch claimed ahead of them.
      expect(held.length).toBeGreaterThanOrEqual(8);
      const { status, body } = await pay(successor.url);
      expect(status).toBe(200);
      expect(body).toMatchObject({ status: "COMPLETED", created: false, total: 200, done: 200 });
      expect(await exactlyOnceViolations(system)).toEqual([]);
      // No event lost or doubled by the kill: the outbox says what the ledger says.
      expect(await outboxLines(system)).toEqual(await impliedEvents(system));
    } finally {
      await system.stop();
    }
  });

  it("with a provider that ignores keys, when a replica is SIGKILLed mid-run: it held only invoices it had sent, they end OUTCOME_UNKNOWN, none is sent again", async () => {
    const system = await startFrontedSystem({
      antaeus: { ...FAST_RECOVERY, BILLING_CONCURRENCY: "8", PAYMENT_PROVIDER_IDEMPOTENT: "false" },
    });
    try {
      const { successor, held } = await killMidRun(system, 8);
      // No claiming ahead for such a provider: every invoice the dead worker held had been sent
      // (its charge in the air, or answered and its verdict not yet written), none was waiting.
      expect(held.length).toBeGreaterThanOrEqual(8);
      const sent = new Set(system.front.calls.map((call) => call.invoice));
      expect(held.filter((id) => !sent.has(id))).toEqual([]);
      const { body } = await pay(successor.url);
      expect(body).toMatchObject({ status: "COMPLETED", total: 200, done: 200 });
      const after = await system.antaeusDb<Array<{ status: string }>>`
        select status from invoices where id in ${system.antaeusDb(held)}`;
      expect(new Set(after.map((r) => r.status))).toEqual(new Set(["OUTCOME_UNKNOWN"]));
      // Counted where the requests arrive: one per invoice, the held ones included.
      const perInvoice = new Map<number, number>();
      for (const call of system.front.calls) {
        perInvoice.set(call.invoice, (perInvoice.get(call.invoice) ?? 0) + 1);
      }
      expect(perInvoice.size).toBe(200);
      expect(Math.max(...perInvoice.values())).toBe(1);
      const [charged] = await system.ledgerDb<[{ n: number }]>`
        select count(*)::int as n from payment.charges where status = 'succeeded'`;
      const counts = await statusCounts(system);
      // Every successful charge is PAID, or among the invoices a person must look at.
      expect(charged.n).toBeGreaterThanOrEqual(counts.PAID ?? 0);
      expect(charged.n).toBeLessThanOrEqual((counts.PAID ?? 0) + (counts.OUTCOME_UNKNOWN ?? 0));
    } finally {
      await system.stop();
    }
  });
  it("when Antaeus's database connections are dropped mid-run, three times, with charges in the air", async () => {
    // 300 invoices: three rounds of 50 charges and a held slot each, and some left after.
    // Each drop strands the charges in the air until their lease ends: a shorter deadline and
    // lease (the held charges are released within a poll of being held) keep the rounds short.
    const system = await startFrontedSystem({
      antaeus: {
        ...FAST_RECOVERY,
        SEED_CUSTOMERS: "30",
        BILLING_CONCURRENCY: "8",
        PAYMENT_TIMEOUT_MS: "600",
        BILLING_LEASE_MS: "700",
      },
    });
    const { gate, control } = system;
    try {
      const url = system.antaeus[0]!.url;
      const [{ datname }] = await system.antaeusDb<
        [{ datname: string }]
      >`select current_database() as datname`;
      const statuses: number[] = [];
      let calling: Promise<void> | undefined;
      // A pay call that ended (a 503: its database went away) is followed by another.
      const keepPaying = () => {
        calling ??= pay(url).then(({ status }) => {
          statuses.push(status);
          calling = undefined;
        });
        return gate.held;
      };
      for (let round = 0; round < 3; round++) {
        control.holdAfter = control.requests + 50;
        await expect.poll(keepPaying, { timeout: 30_000, interval: 20 }).toBeGreaterThanOrEqual(8);
        await system.antaeusDb`
          select pg_terminate_backend(pid) from pg_stat_activity
          where datname = ${datname} and pid <> pg_backend_pid()`;
        control.holdAfter = Number.POSITIVE_INFINITY;
        gate.release();
      }
      await calling;
      for (const status of statuses) expect([200, 202, 503]).toContain(status);
      // Whatever the calls saw, pay calls finish the run without a double charge.
      let last = await pay(url);
      for (let i = 0; i < 10 && last.body.status !== "COMPLETED"; i++) last = await pay(url);
      const run = await waitForRun(
        url,
        (await system.antaeusDb`select max(id) as id from billing_runs`)[0]!.id,
      );
      expect(run.done).toBe(run.total);
      expect(await exactlyOnceViolations(system)).toEqual([]);
      expect(await outboxLines(system)).toEqual(await impliedEvents(system));
    } finally {
      await system.stop();
    }
  });
});
