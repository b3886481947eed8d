import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pingDelivery } from "../support/cloudevents.js";
import { startFunction } from "../support/processes.js";
import {
  exactlyOnceViolations,
  pay,
  type System,
  startFrontedSystem,
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
    const { status, body } = await pay(url);
    expect(status).toBe(202);
    expect(body).toMatchObject({ status: "RUNNING", total: 20_000 });
    expect(body.done).toBeLessThan(20_000);

    // Only reads from here on: the run goes on by its own continuations.
    const run = await waitForRun(url, body.id, 180_000);
    expect(run.done).toBe(20_000);
    const handoffs = system.antaeus[0]!.logs.filter(
      (l) => l.msg === "budget spent: run continues in a new request",
    );
    expect(handoffs.length).toBeGreaterThanOrEqual(1);
    const counts = await statusCounts(system);
    // Every invoice has the provider's answer: paid, or declined (soft, or hard by the default mix).
    const answered = ["PAID", "DECLINED", "HARD_DECLINED", "RETRIES_EXHAUSTED"];
    expect(answered.reduce((sum, status) => sum + (counts[status] ?? 0), 0)).toBe(20_000);
    expect(await exactlyOnceViolations(system)).toEqual([]);
  }, 240_000); // 20,000 charges: bounded by the wait on the run, not by the default timeout
});

describe("a caller that hangs up mid-run", () => {
  it("has its work handed at once to a continuation request, which finishes the run", async () => {
    const other = await startFrontedSystem({ antaeus: { BILLING_CONCURRENCY: "8" } });
    try {
      const url = other.antaeus[0]!.url;
      // After 20 charges the answers are held: the caller hangs up with every slot busy.
      other.control.holdAfter = 20;
      const caller = new AbortController();
      const call = pay(url, { signal: caller.signal }).catch(() => undefined);
      await expect
        .poll(() => other.gate.held, { timeout: 30_000, interval: 20 })
        .toBeGreaterThanOrEqual(8);
      caller.abort();
      await call;
      other.control.holdAfter = Number.POSITIVE_INFINITY;
      other.gate.release();

      const [{ id }] = await other.antaeusDb<
        [{ id: number }]
      >`select max(id) as id from billing_runs`;
      const run = await waitForRun(url, id, 60_000);
      expect(run.done).toBe(1000);
      // The rest was done in a request of its own, which Knative can see and route.
      const metrics = await (await fetch(`${url}/metrics`)).text();
      expect(metrics).toMatch(
        /http_request_duration_seconds_count\{method="POST",route="\/rest\/v1\/billing\/runs\/:id\/continue",status="20[02]"\} [1-9]/,
      );
      expect(await exactlyOnceViolations(other)).toEqual([]);
    } finally {
      await other.stop();
    }
  });
});

describe("a replica stopped mid-run (Knative scaling it in)", () => {
  it("on SIGTERM stops claiming, finishes its charges, hands the run to a live replica and exits 0", async () => {
    const other = await startFrontedSystem({ antaeus: { BILLING_CONCURRENCY: "8" } });
    try {
      const live = other.antaeus[0]!;
      // As on Knative, the continuation goes to the service's address, which reaches a live pod.
      const leaving = await startFunction("antaeus", {
        ...other.antaeusEnv,
        BILLING_SELF_URL: live.url,
      });
      other.antaeus.push(leaving);
      // After 20 charges the answers are held: the run is certainly under way, every slot busy.
      other.control.holdAfter = 20;
      const answer = pay(leaving.url);
      await expect
        .poll(() => other.gate.held, { timeout: 30_000, interval: 20 })
        .toBeGreaterThanOrEqual(8);
      leaving.child.kill("SIGTERM");
      await expect
        .poll(() => leaving.logs.some((l) => l.msg === "shutting down: no new connections"))
        .toBe(true);
      other.control.holdAfter = Number.POSITIVE_INFINITY;
      other.gate.release();
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
      PAYMENT_TIMEOUT_MS: "3000",
      PAYMENT_RETRIES: "0",
      BILLING_LEASE_MS: "3500",
      BILLING_CONCURRENCY: "8",
    };
    const stalled = await startFrontedSystem({ antaeus: env });
    try {
      // Killed with every slot busy: after 30 charges the answers are held.
      const killed = stalled.antaeus[0]!;
      stalled.control.holdAfter = 30;
      void pay(killed.url).catch(() => undefined);
      await expect
        .poll(() => stalled.gate.held, { timeout: 30_000, interval: 20 })
        .toBeGreaterThanOrEqual(8);
      await killed.stop("SIGKILL");
      stalled.control.holdAfter = Number.POSITIVE_INFINITY;
      stalled.gate.release();

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
