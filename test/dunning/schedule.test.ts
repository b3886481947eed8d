import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type DunningSystem,
  invoiceStates,
  ledgerByInvoice,
  type Mood,
  startDunningSystem,
} from "./support.js";

/**
 * The retry schedule P1D,P3D,P7D, driven by the watchdog PingSource's request and a billing
 * clock moved through BILLING_CLOCK_FILE. Eight invoices (one per customer, October 2026), two
 * per script of answers, each answer keyed by which call about the invoice it is.
 */
const SCRIPTS: Record<string, Mood[]> = {
  // Soft at every step: the charge and three retries, then a person.
  exhausted: ["soft", "soft", "soft", "soft"],
  // Declined twice, paid on retry 2: nothing after.
  recovered: ["soft", "soft", "pays"],
  // A hard decline: never retried.
  hard: ["hard"],
  // The original challenge's `{"result": false}`, no reason: soft, paid on retry 1.
  bare: ["bare", "pays"],
};
const GROUPS = ["exhausted", "recovered", "hard", "bare"] as const;
const groupOf = (invoice: number) => GROUPS[(invoice - 1) % GROUPS.length]!;

const T0 = Date.parse("2026-10-15T10:00:00Z");
const at = (hours: number) => new Date(T0 + hours * 3_600_000).toISOString();

let system: DunningSystem;
beforeAll(async () => {
  system = await startDunningSystem({
    antaeus: {
      SEED_CUSTOMERS: "8",
      SEED_INVOICES_PER_CUSTOMER: "1",
      SEED_LAST_PERIOD: "2026-10",
      BILLING_RETRY_SCHEDULE: "P1D,P3D,P7D",
    },
    script: (call) => SCRIPTS[groupOf(call.invoice)]![call.nth - 1],
    start: at(0),
  });
});
afterAll(async () => {
  await system?.stop();
});

const callsFor = (group: string) =>
  system.front.calls.filter((call) => groupOf(call.invoice) === group);

describe("the retry schedule for soft declines", () => {
  it("sends a soft decline to DECLINED with its first retry due a day later; a hard one to HARD_DECLINED", async () => {
    const response = await fetch(`${system.antaeus.url}/rest/v1/invoices/pay`, { method: "POST" });
    const run = (await response.json()) as { counts: Record<string, number> };
    expect(run.counts).toMatchObject({ DECLINED: 6, HARD_DECLINED: 2, PAID: 0 });
    for (const [id, invoice] of await invoiceStates(system)) {
      if (groupOf(id) === "hard") {
        expect(invoice).toMatchObject({ status: "HARD_DECLINED", next_retry_at: null });
      } else {
        expect(invoice).toMatchObject({ status: "DECLINED", declines: 1 });
        expect(invoice.next_retry_at?.toISOString()).toBe(at(24));
      }
    }
  });

  it("retries nothing before it is due", async () => {
    system.setClock(at(23.9));
    const calls = system.front.calls.length;
    expect((await system.watchdog("early")).body).toEqual({ run: null });
    expect(system.front.calls.length).toBe(calls);
  });

  it("retries each due soft decline from the watchdog's request, under a new key, as retry 1", async () => {
    system.setClock(at(24));
    const { body } = await system.watchdog("day-1");
    expect(body.run).toMatchObject({
      trigger: "retry",
      status: "COMPLETED",
      total: 6,
      retries: { done: 6, recovered: 2 },
    });
    const states = await invoiceStates(system);
    for (const [id, invoice] of states) {
      const group = groupOf(id);
      if (group === "bare") expect(invoice.status).toBe("PAID");
      if (group === "exhausted" || group === "recovered") {
        expect(invoice).toMatchObject({ status: "DECLINED", declines: 2 });
        expect(invoice.next_retry_at?.toISOString()).toBe(at(72));
      }
    }
  });

  it("stops the schedule at a success on retry 2, and ends in RETRIES_EXHAUSTED after retry 3", async () => {
    system.setClock(at(72));
    expect((await system.watchdog("day-3")).body.run).toMatchObject({
      total: 4,
      retries: { recovered: 2 },
    });
    system.setClock(at(24 * 7));
    expect((await system.watchdog("day-7")).body.run).toMatchObject({
      total: 2,
      counts: { RETRIES_EXHAUSTED: 2 },
      retries: { done: 2, recovered: 0 },
    });
    // Much later: nothing is due, the monthly run takes none of them either.
    system.setClock(at(24 * 40));
    expect((await system.watchdog("day-40")).body).toEqual({ run: null });
    expect((await system.monthly("december")).body).toMatchObject({ total: 0 });

    const states = await invoiceStates(system);
    const ledger = await ledgerByInvoice(system);
    for (const [id, invoice] of states) {
      const group = groupOf(id);
      const expected = {
        exhausted: { status: "RETRIES_EXHAUSTED", calls: 4 },
        recovered: { status: "PAID", calls: 3 },
        hard: { status: "HARD_DECLINED", calls: 1 },
        bare: { status: "PAID", calls: 2 },
      }[group];
      expect(invoice.status, `invoice ${id} (${group})`).toBe(expected.status);
      expect(system.front.calls.filter((call) => call.invoice === id)).toHaveLength(expected.calls);
      // Each call a new attempt with a new key, every one in payment's ledger but the bare ones.
      const keys = system.front.calls.filter((call) => call.invoice === id).map((call) => call.key);
      expect(new Set(keys).size).toBe(expected.calls);
      const charges = ledger.get(id) ?? [];
      expect(charges.filter((c) => c.status === "succeeded").length).toBe(
        expected.status === "PAID" ? 1 : 0,
      );
      if (group !== "bare") expect(charges.map((c) => c.key)).toEqual(keys);
    }
    expect(callsFor("hard")).toHaveLength(2);
  });

  it("says in each invoice's attempts which retry each call was, with the decline's reason", async () => {
    const attempts = async (id: number) =>
      (await (
        await fetch(`${system.antaeus.url}/rest/v1/invoices/${id}/attempts`)
      ).json()) as Array<{
        retry: number;
        outcome: string;
        declineReason: string | null;
      }>;
    expect((await attempts(1)).map((a) => [a.retry, a.outcome, a.declineReason])).toEqual([
      [0, "DECLINED", "insufficient_funds"],
      [1, "DECLINED", "insufficient_funds"],
      [2, "DECLINED", "insufficient_funds"],
      [3, "DECLINED", "insufficient_funds"],
    ]);
    expect((await attempts(2)).map((a) => [a.retry, a.outcome])).toEqual([
      [0, "DECLINED"],
      [1, "DECLINED"],
      [2, "PAID"],
    ]);
    expect((await attempts(3)).map((a) => [a.retry, a.outcome, a.declineReason])).toEqual([
      [0, "DECLINED", "expired_card"],
    ]);
    expect((await attempts(4)).map((a) => [a.retry, a.outcome, a.declineReason])).toEqual([
      [0, "DECLINED", null],
      [1, "PAID", null],
    ]);
  });
});
