import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type DunningSystem,
  invoiceStates,
  ledgerByInvoice,
  startDunningSystem,
} from "./support.js";

/**
 * The monthly PingSource and the watchdog's retries meet at midnight on the 1st. Four customers,
 * one invoice each for September, October and November 2026; every charge is declined softly.
 */
let system: DunningSystem;
beforeAll(async () => {
  system = await startDunningSystem({
    antaeus: {
      SEED_CUSTOMERS: "4",
      SEED_INVOICES_PER_CUSTOMER: "3",
      SEED_LAST_PERIOD: "2026-11",
      BILLING_RETRY_SCHEDULE: "P1D,P3D,P7D",
    },
    // Every charge declined softly, except September's retry 2 for two of the four invoices:
    // the provider refuses those requests outright (REJECTED), at once.
    script: (call) => (call.nth === 3 && call.invoice % 2 === 0 ? "refused" : "soft"),
    start: "2026-09-29T12:00:00Z",
  });
});
afterAll(() => system?.stop());

const byPeriod = async () => {
  const states = await invoiceStates(system);
  const ledger = await ledgerByInvoice(system);
  const charges: Record<string, number[]> = {};
  for (const [id, invoice] of states) {
    charges[invoice.period] ??= [];
    charges[invoice.period]!.push(ledger.get(id)?.length ?? 0);
  }
  for (const counts of Object.values(charges)) counts.sort();
  return charges;
};

/** Waits, within a bound of its own, until the provider has had `n` calls. */
const callsReach = (n: number, message: string) =>
  expect
    .poll(() => system.front.calls.length, { timeout: 30_000, interval: 20, message })
    .toBeGreaterThanOrEqual(n);

/** How many attempts reached the provider since its `from`-th call: one key each. */
const attemptKeysSince = (from: number) =>
  new Set(system.front.calls.slice(from).map((call) => call.key)).size;

describe("the monthly run and due retries", () => {
  it("the monthly run takes a retry that is due, as that retry", async () => {
    await fetch(`${system.antaeus.url}/rest/v1/invoices/pay`, { method: "POST" });
    system.setClock("2026-10-31T12:00:00Z");
    const october = await system.monthly("october");
    // October's four new invoices, and September's four whose retry 1 has been due since 30 Sep.
    expect(october.body).toMatchObject({ total: 8, retries: { done: 4 } });
    expect(await byPeriod()).toEqual({
      "2026-09-01": [2, 2, 2, 2],
      "2026-10-01": [1, 1, 1, 1],
      "2026-11-01": [0, 0, 0, 0],
    });
  });

  it("a monthly tick that lands while the watchdog retries joins that run: each invoice charged once, none it decided queued again", async () => {
    // 00:30 on 1 November in Copenhagen. September's retry 2 is due; October's retry 1 is due
    // at noon UTC, not yet; November is due with the month.
    system.setClock("2026-10-31T23:30:00Z");
    const before = system.front.calls.length;
    system.gate.shut();
    const watchdog = system.watchdog("november-hour-0");
    await callsReach(before + 4, "the watchdog's four retries never reached the provider");
    // Two retries are decided (REJECTED: due again by the monthly rule, but the next run's),
    // two are held: the run is still going when the monthly tick joins it.
    await expect
      .poll(
        async () =>
          [...(await invoiceStates(system)).values()].filter((i) => i.status === "REJECTED").length,
        { timeout: 30_000, message: "the two refused retries were never decided" },
      )
      .toBe(2);
    const monthly = system.monthly("november");
    await callsReach(before + 8, "the monthly run's four invoices never reached the provider");
    await sleep(200); // time for a ninth call, if one were coming
    system.gate.release();
    const [retries, month] = await Promise.all([watchdog, monthly]);
    expect(retries.body.run).toMatchObject({ trigger: "retry", status: "COMPLETED" });
    expect(month.body).toMatchObject({ id: retries.body.run!.id, created: false, total: 8 });
    // Eight attempts, each under its own key (a held call that ran into its deadline is asked
    // again under the same key, which charges nothing new).
    expect(attemptKeysSince(before)).toBe(8);
    // The refused retries charged nothing; had the join queued them again, they would have been
    // sent a fourth time and charged.
    expect(await byPeriod()).toEqual({
      "2026-09-01": [2, 2, 3, 3],
      "2026-10-01": [1, 1, 1, 1],
      "2026-11-01": [1, 1, 1, 1],
    });
    // The monthly event redelivered (same ce-id) gets its run back and charges nothing more.
    expect((await system.monthly("november")).body).toMatchObject({ id: month.body.id });
    expect(attemptKeysSince(before)).toBe(8);
  });
});
