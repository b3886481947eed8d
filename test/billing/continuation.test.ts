import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  exactlyOnceViolations,
  pay,
  type System,
  startSystem,
  statusCounts,
  waitForRun,
} from "../support/system.js";

let system: System;
beforeAll(async () => {
  system = await startSystem({
    antaeus: {
      SEED_CUSTOMERS: "2000",
      SEED_INVOICES_PER_CUSTOMER: "10",
      BILLING_REQUEST_BUDGET_MS: "1000",
    },
  });
});
afterAll(() => system?.stop());

describe("a run longer than one request's budget", () => {
  it("20,000 invoices with a 1-second budget: the first call answers 202, and the run completes with nobody watching", async () => {
    const url = system.antaeus[0]!.url;
    const started = performance.now();
    const { status, body } = await pay(url);
    const answeredAfter = performance.now() - started;
    expect(status).toBe(202);
    expect(body).toMatchObject({ status: "RUNNING", total: 20_000 });
    expect(body.done).toBeLessThan(20_000);
    expect(answeredAfter).toBeLessThan(1_000 + 3_000 * 4); // the budget, plus in-flight charges finishing

    // Only reads from here on: the run goes on by its own continuations.
    const run = await waitForRun(url, body.id, 180_000);
    expect(run.done).toBe(20_000);
    const handoffs = system.antaeus[0]!.logs.filter(
      (l) => l.msg === "budget spent: run continues in a new request",
    );
    expect(handoffs.length).toBeGreaterThanOrEqual(1);
    const counts = await statusCounts(system);
    expect((counts.PAID ?? 0) + (counts.DECLINED ?? 0)).toBe(20_000);
    expect(await exactlyOnceViolations(system)).toEqual([]);
  });
});
