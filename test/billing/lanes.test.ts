import { hostname } from "node:os";
import { describe, expect, it } from "vitest";
import { createDatabase } from "../support/database.js";
import { startReplica } from "../support/replica.js";
import { keyedProvider, startStandIn } from "../support/stand-in.js";
import {
  exactlyOnceViolations,
  pay,
  type RunBody,
  startFrontedSystem,
  waitForRun,
} from "../support/system.js";

interface Lane {
  lane: number;
  state: string;
  worker: string | null;
  invoices: number;
}

const runOf = async (url: string, id: number) =>
  (await (await fetch(`${url}/rest/v1/billing/runs/${id}`)).json()) as RunBody & { lanes: Lane[] };

describe("a run's lanes, spread over replicas", () => {
  it("share one run: lanes on two replicas charge side by side, as their attempts' worker ids show, and nothing is charged twice", async () => {
    // Answers are held until both lanes have every slot busy: 4 charges each at most (and a
    // deadline long enough that none is given up meanwhile), so 8 held at once can only be both
    // lanes charging at the same time.
    const system = await startFrontedSystem({
      replicas: 2,
      lanes: 2,
      antaeus: {
        SEED_CUSTOMERS: "10",
        SEED_INVOICES_PER_CUSTOMER: "10",
        BILLING_CONCURRENCY: "4",
        PAYMENT_TIMEOUT_MS: "10000",
      },
    });
    const { gate } = system;
    gate.shut();
    try {
      const paying = pay(system.antaeus[0]!.url);
      await expect.poll(() => gate.held, { timeout: 30_000, interval: 50 }).toBe(8);
      gate.release();
      const { body } = await paying;
      expect(body).toMatchObject({ status: "COMPLETED", total: 100, done: 100 });

      // The first eight attempts began before any answer came: four from each replica.
      const first = await system.antaeusDb<Array<{ worker: string; n: number }>>`
        select worker, count(*)::int as n
        from (select worker from payment_attempts order by attempted_at, id limit 8) as early
        group by worker order by worker`;
      const workers = system.antaeus.map((replica) => `${hostname()}/${replica.child.pid}`);
      expect(first).toEqual(workers.sort().map((worker) => ({ worker, n: 4 })));
      // The run says so too: two lanes, one on each replica, their invoices the run's; each ends
      // once it finds nothing left.
      const lanes = async () => (await runOf(system.antaeus[1]!.url, body.id)).lanes;
      await expect
        .poll(async () => (await lanes()).map((lane) => lane.state), { timeout: 10_000 })
        .toEqual(["ended", "ended"]);
      expect((await lanes()).map((lane) => lane.worker).sort()).toEqual(workers);
      expect((await lanes()).reduce((sum, lane) => sum + lane.invoices, 0)).toBe(100);
      expect(await exactlyOnceViolations(system)).toEqual([]);
    } finally {
      await system.stop();
    }
  });

  it("lose nothing when one dies: a lane SIGKILLed mid-run leaves its invoices to the others when their leases expire, and the run completes without the watchdog", async () => {
    const system = await startFrontedSystem({
      replicas: 3,
      lanes: 3,
      antaeus: {
        SEED_CUSTOMERS: "20",
        SEED_INVOICES_PER_CUSTOMER: "10",
        BILLING_CONCURRENCY: "4",
        // Short leases, so the dead lane's invoices are taken over within seconds; a deadline
        // long enough that no held charge is given up (and its slot refilled) before the kill.
        PAYMENT_TIMEOUT_MS: "3000",
        PAYMENT_RETRIES: "0",
        BILLING_LEASE_MS: "3500",
      },
    });
    const { gate, control } = system;
    const starter = system.antaeus[0]!;
    const doomed = system.antaeus[2]!;
    try {
      // After 30 charges the answers are held: every lane has its slots busy when one dies.
      control.holdAfter = 30;
      const caller = new AbortController();
      const paying = pay(starter.url, { signal: caller.signal }).catch(() => undefined);
      await expect
        .poll(() => gate.held, { timeout: 30_000, interval: 20 })
        .toBeGreaterThanOrEqual(12);
      // Nobody waits for the run from here on, so nothing starts its lanes again: what finishes
      // the run is the lanes that live.
      caller.abort();
      await paying;
      await doomed.stop("SIGKILL");
      system.activator?.remove(doomed.url);
      control.holdAfter = Number.POSITIVE_INFINITY;
      gate.release();

      const [{ id }] = await system.antaeusDb<
        [{ id: number }]
      >`select max(id) as id from billing_runs`;
      const run = await waitForRun(system.antaeus[1]!.url, id, 60_000);
      expect(run).toMatchObject({ total: 200, done: 200 });
      // The dead lane shows silent once it has missed its heartbeats; the others ended.
      const dead = `${hostname()}/${doomed.child.pid}`;
      const states = async () =>
        (await runOf(system.antaeus[1]!.url, id)).lanes.map((lane) =>
          lane.worker === dead ? `dead:${lane.state}` : lane.state,
        );
      await expect
        .poll(states, { timeout: 30_000, interval: 250 })
        .toEqual(expect.arrayContaining(["dead:silent", "ended", "ended"]));
      expect(await exactlyOnceViolations(system)).toEqual([]);
    } finally {
      await system.stop();
    }
  });
});

describe("a small run", () => {
  it("starts no more lanes than it can fill: 5 invoices and 4 slots a lane make 2 lanes, though BILLING_LANES allows 3", async () => {
    const provider = await startStandIn(keyedProvider(() => true).charge);
    const replica = await startReplica({
      DATABASE_URL: await createDatabase("small_run"),
      SEED_CUSTOMERS: "5",
      SEED_INVOICES_PER_CUSTOMER: "1",
      SEED_LAST_PERIOD: "2026-10",
      PAYMENT_PROVIDER_ENDPOINT: `${provider.url}/v1/charges`,
      BILLING_CONCURRENCY: "4",
      BILLING_LANES: "3",
    });
    try {
      const { body } = await pay(replica.url);
      expect(body).toMatchObject({ status: "COMPLETED", total: 5, done: 5 });
      expect((await runOf(replica.url, body.id)).lanes.map((lane) => lane.lane)).toEqual([1, 2]);
    } finally {
      await replica.stop();
      await provider.close();
    }
  });
});
