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

/** 200 invoices: the hand-overs below happen after 20 or 30 charges, whatever the run's size. */
const SMALL = { SEED_CUSTOMERS: "20" };

let system: System;
beforeAll(async () => {
  system = await startSystem({
    antaeus: {
      SEED_CUSTOMERS: "400",
      SEED_INVOICES_PER_CUSTOMER: "10",
      BILLING_REQUEST_BUDGET_MS: "200",
    },
  });
});
afterAll(() => system?.stop());

describe("a run longer than one request's budget", () => {
  // Whether a run outlives one request depends on the budget, not on the count: 4,000 invoices
  // take several 200 ms budgets.
  it("4,000 invoices with a 200 ms budget: the first call answers 202, and the run completes with nobody watching", async () => {
    const url = system.antaeus[0]!.url;
    const { status, body } = await pay(url);
    expect(status).toBe(202);
    expect(body).toMatchObject({ status: "RUNNING", total: 4_000 });
    expect(body.done).toBeLessThan(4_000);

    // Only reads from here on: the run goes on by its own continuations.
    const run = await waitForRun(url, body.id, 120_000);
    expect(run.done).toBe(4_000);
    const handoffs = system.antaeus[0]!.logs.filter(
      (l) => l.msg === "lane's request ends; the run goes on",
    );
    // Handed on again and again: each continuation spends its budget and hands on in turn.
    expect(handoffs.length).toBeGreaterThanOrEqual(2);
    const counts = await statusCounts(system);
    // Every invoice has the provider's answer: paid, or declined (soft, or hard by the default mix).
    const answered = ["PAID", "DECLINED", "HARD_DECLINED", "RETRIES_EXHAUSTED"];
    expect(answered.reduce((sum, status) => sum + (counts[status] ?? 0), 0)).toBe(4_000);
    expect(await exactlyOnceViolations(system)).toEqual([]);
  });
});

describe("a lane whose caller hangs up mid-run", () => {
  it("hands its work at once to a new request of its own, which finishes the run", async () => {
    // The lane runs on `worker`; its caller is `starter`, which dies with every slot busy (Knative
    // cancels a request whose client went away).
    const other = await startFrontedSystem({ antaeus: { ...SMALL, BILLING_CONCURRENCY: "8" } });
    try {
      const worker = other.antaeus[0]!;
      const starter = await startFunction("antaeus", {
        ...other.antaeusEnv,
        BILLING_LANE_URL: worker.url,
      });
      other.antaeus.push(starter);
      // After 20 charges the answers are held: the caller hangs up with every slot busy.
      other.control.holdAfter = 20;
      void pay(starter.url).catch(() => undefined);
      await expect
        .poll(() => other.gate.held, { timeout: 30_000, interval: 20 })
        .toBeGreaterThanOrEqual(8);
      await starter.stop("SIGKILL");
      other.control.holdAfter = Number.POSITIVE_INFINITY;
      other.gate.release();

      const [{ id }] = await other.antaeusDb<
        [{ id: number }]
      >`select max(id) as id from billing_runs`;
      const run = await waitForRun(worker.url, id, 60_000);
      expect(run.done).toBe(200);
      // The first request answered 202 once it had handed on; the rest was done in a request of
      // its own, which Knative can see and route.
      const metrics = await (await fetch(`${worker.url}/metrics`)).text();
      expect(metrics).toMatch(
        /http_request_duration_seconds_count\{method="POST",route="\/rest\/v1\/billing\/runs\/:id\/lanes\/:lane",status="202"\} [1-9]/,
      );
      expect(await exactlyOnceViolations(other)).toEqual([]);
    } finally {
      await other.stop();
    }
  });
});

describe("a replica stopped mid-run (Knative scaling it in)", () => {
  it("on SIGTERM stops claiming, finishes its charges, hands its lane to a live replica and exits 0", async () => {
    // Lanes reach the replicas through the activator: at first only `leaving` is there.
    const other = await startFrontedSystem({
      lanes: 1,
      antaeus: { ...SMALL, BILLING_CONCURRENCY: "8" },
    });
    try {
      const leaving = other.antaeus[0]!;
      const live = await startFunction("antaeus", other.antaeusEnv);
      other.antaeus.push(live);
      // After 20 charges the answers are held: the run is certainly under way, every slot busy.
      other.control.holdAfter = 20;
      const answer = pay(live.url);
      await expect
        .poll(() => other.gate.held, { timeout: 30_000, interval: 20 })
        .toBeGreaterThanOrEqual(8);
      // Knative routes to the live pod from now on, and stops the other.
      other.activator?.add(live.url);
      other.activator?.remove(leaving.url);
      leaving.child.kill("SIGTERM");
      await expect
        .poll(() => leaving.logs.some((l) => l.msg === "shutting down: no new connections"))
        .toBe(true);
      other.control.holdAfter = Number.POSITIVE_INFINITY;
      other.gate.release();
      expect(await leaving.exited).toEqual({ code: 0, signal: null });
      expect(leaving.logs.map((l) => l.msg)).toContain("lane's request ends; the run goes on");

      const { status, body } = await answer;
      expect(status).toBe(200);
      expect(body).toMatchObject({ status: "COMPLETED", done: 200 });
      expect(other.activator?.lanesSent.get(live.url)).toBeGreaterThanOrEqual(1);
      expect(await exactlyOnceViolations(other)).toEqual([]);
    } finally {
      await other.stop();
    }
  });
});

describe("the hourly watchdog", () => {
  it("finishes a run whose worker was killed outright, and starts no run of its own", async () => {
    const env = {
      ...SMALL,
      PAYMENT_TIMEOUT_MS: "1000",
      PAYMENT_RETRIES: "0",
      BILLING_LEASE_MS: "1200",
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
      expect(run).toMatchObject({ status: "COMPLETED", done: 200 });
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
