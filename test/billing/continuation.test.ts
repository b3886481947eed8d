import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pingDelivery } from "../support/cloudevents.js";
import { startFunction } from "../support/processes.js";
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

describe("a replica stopped mid-run (Knative scaling it in)", () => {
  it("on SIGTERM stops claiming, finishes its charges, hands the run to a live replica and exits 0", async () => {
    const other = await startSystem({
      antaeus: { BILLING_CONCURRENCY: "8" },
      payment: { PAYMENT_LATENCY_MS: "30" },
    });
    try {
      const live = other.antaeus[0]!;
      // As on Knative, the continuation goes to the service's address, which reaches a live pod.
      const leaving = await startFunction("antaeus", {
        ...other.antaeusEnv,
        BILLING_CONCURRENCY: "8",
        BILLING_SELF_URL: live.url,
      });
      other.antaeus.push(leaving);
      const answer = pay(leaving.url);
      await expect
        .poll(async () => (await statusCounts(other)).PAID ?? 0, { timeout: 20_000, interval: 50 })
        .toBeGreaterThan(20);
      leaving.child.kill("SIGTERM");
      const { status, body } = await answer;
      expect(status).toBe(202);
      expect(body.status).toBe("RUNNING");
      expect(await leaving.exited).toEqual({ code: 0, signal: null });
      expect(leaving.logs.map((l) => l.msg)).toContain(
        "budget spent: run continues in a new request",
      );

      const run = await waitForRun(live.url, body.id, 60_000);
      expect(run.done).toBe(1000);
      expect(await exactlyOnceViolations(other)).toEqual([]);
    } finally {
      await other.stop();
    }
  });
});

describe("the hourly watchdog", () => {
  it("finishes a run whose worker was killed outright, and starts no run of its own", async () => {
    const env = {
      PAYMENT_TIMEOUT_MS: "500",
      PAYMENT_RETRIES: "0",
      BILLING_LEASE_MS: "1500",
      BILLING_CONCURRENCY: "8",
    };
    const stalled = await startSystem({ antaeus: env, payment: { PAYMENT_LATENCY_MS: "20" } });
    try {
      const killed = stalled.antaeus[0]!;
      void pay(killed.url).catch(() => undefined);
      await expect
        .poll(async () => (await statusCounts(stalled)).PAID ?? 0, {
          timeout: 20_000,
          interval: 50,
        })
        .toBeGreaterThan(30);
      await killed.stop("SIGKILL");

      const fresh = await startFunction("antaeus", stalled.antaeusEnv);
      stalled.antaeus.push(fresh);
      const response = await fetch(
        `${fresh.url}/rest/v1/billing/resume`,
        pingDelivery({
          source: "antaeus/billing-watchdog",
          id: "watchdog-1",
          data: '{"reason":"resume a stalled billing run"}',
        }),
      );
      expect(response.status).toBe(200);
      const { run } = (await response.json()) as {
        run: { id: number; status: string; done: number };
      };
      expect(run).toMatchObject({ status: "COMPLETED", done: 1000 });
      const [runs] = await stalled.antaeusDb`select count(*)::int as n from billing_runs`;
      expect(runs?.n).toBe(1);
      expect(await exactlyOnceViolations(stalled)).toEqual([]);

      // Nothing in progress: the watchdog answers so, and starts nothing.
      const idle = await fetch(`${fresh.url}/rest/v1/billing/resume`, { method: "POST" });
      expect(await idle.json()).toEqual({ run: null });
      const [after] = await stalled.antaeusDb`select count(*)::int as n from billing_runs`;
      expect(after?.n).toBe(1);
    } finally {
      await stalled.stop();
    }
  });
});
