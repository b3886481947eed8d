import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, describe, expect, it } from "vitest";
import { INCREASE_PER_SECOND } from "../../functions/antaeus/billing/provider-rate.js";
import { reportThrottle } from "../../functions/antaeus/data/lanes.js";
import { startActivator } from "../support/activator.js";
import { createDatabase, openSql } from "../support/database.js";
import { type Replica, startReplica } from "../support/replica.js";
import { keyedProvider, type ProviderCall, type Reply, startStandIn } from "../support/stand-in.js";
import { pay } from "../support/system.js";

/**
 * The provider's rate limit is shared by every lane and replica through PostgreSQL: two replicas
 * in this process (the point is the shared row, not processes), each working one lane of the run
 * through a stand-in activator, against a provider written in the test that sees every call
 * arrive. Each replica posts to a path of its own, so each call is known by its lane.
 */

let running: Array<{ stop: () => Promise<unknown> }> = [];
afterEach(async () => {
  for (const part of running.reverse()) await part.stop();
  running = [];
});

const REPLICAS = ["a", "b"] as const;

async function twoLanes(
  limit: number,
  invoices: number,
  answer: (call: ProviderCall) => Reply | Promise<Reply>,
  env: Record<string, string> = {},
) {
  const provider = await startStandIn(answer);
  const activator = await startActivator();
  const databaseUrl = await createDatabase("rate");
  const sql = openSql(databaseUrl);
  running.push(
    { stop: () => provider.close() },
    { stop: () => activator.close() },
    { stop: () => sql.end() },
  );
  const replicas = new Map<(typeof REPLICAS)[number], Replica>();
  for (const name of REPLICAS) {
    const replica = await startReplica({
      DATABASE_URL: databaseUrl,
      SEED_CUSTOMERS: String(invoices / 10),
      SEED_INVOICES_PER_CUSTOMER: "10",
      SEED_LAST_PERIOD: "2026-10",
      PAYMENT_PROVIDER_ENDPOINT: `${provider.url}/${name}/v1/charges`,
      BILLING_CONCURRENCY: "8",
      BILLING_LANES: "2",
      BILLING_LANE_URL: activator.url,
      BILLING_PROVIDER_RATE_LIMIT: String(limit),
      ...env,
    });
    running.push(replica);
    activator.add(replica.url);
    replicas.set(name, replica);
  }
  const laneOf = (call: ProviderCall) => call.path.split("/")[1] as (typeof REPLICAS)[number];
  return { provider, sql, replicas, laneOf };
}

/** The most calls that arrived within any one second. */
function busiestSecond(calls: ProviderCall[]): number {
  const times = calls.map((call) => call.at).sort((a, b) => a - b);
  let most = 0;
  for (let start = 0, end = 0; end < times.length; end++) {
    while ((times[end] as number) - (times[start] as number) >= 1_000) start++;
    most = Math.max(most, end - start + 1);
  }
  return most;
}

/** A call's arrival as a wall-clock instant, to set beside a log line's. */
const wallClock = (call: ProviderCall) => performance.timeOrigin + call.at;

describe("the provider's rate limit, across lanes and replicas", () => {
  it("lets no second see more calls than the limit plus one per lane, retries included", async () => {
    const keyed = keyedProvider(() => true);
    // Every fifth invoice's first call meets a 503: its retry waits for a permit too. 48 calls
    // at 20 a second: over two seconds of calls, more than twice the limit.
    const { provider, replicas, laneOf } = await twoLanes(20, 40, (call) =>
      call.nth === 1 && call.invoice % 5 === 0 ? { status: 503 } : keyed.charge(call),
    );
    const { body } = await pay(replicas.get("a")!.url);
    expect(body).toMatchObject({ status: "COMPLETED", total: 40, done: 40 });

    expect(provider.calls.length).toBe(40 + 8);
    expect(busiestSecond(provider.calls)).toBeLessThanOrEqual(20 + 2);
    // Both lanes called, each under its share.
    expect(new Set(provider.calls.map(laneOf))).toEqual(new Set(REPLICAS));
    expect(Math.max(...keyed.charges.values())).toBe(1);
  });

  it("slows every lane on a 429: the other lane pauses for its Retry-After, and the shared rate drops", async () => {
    const keyed = keyedProvider(() => true);
    let calls = 0;
    const { provider, sql, replicas, laneOf } = await twoLanes(40, 120, (call) =>
      ++calls === 40 ? { status: 429, headers: { "retry-after": "2" } } : keyed.charge(call),
    );
    const { body } = await pay(replicas.get("a")!.url);
    expect(body).toMatchObject({ status: "COMPLETED", total: 120, done: 120 });

    const met = provider.calls[39]!;
    const other = REPLICAS.find((name) => name !== laneOf(met))!;
    // The other lane heard of it at its next tick, and paused from then on.
    const heard = replicas
      .get(other)!
      .logs.find((line) => line.msg === "the provider answered a lane 429: every lane pauses");
    expect(heard).toBeDefined();
    const heardAt = Number(heard?.time); // pino's epoch milliseconds
    const during = provider.calls.filter(
      (call) =>
        laneOf(call) === other &&
        wallClock(call) > heardAt &&
        wallClock(call) < wallClock(met) + 1_900,
    );
    expect(during).toEqual([]);

    // The rate every lane shares dropped from the limit, once for the one 429.
    const [rate] = await sql<[{ rate: number }]>`select rate from provider_rate`;
    expect(rate.rate).toBeCloseTo(40 * 0.7, 0);
    // A 429 is an unknown outcome: the invoice was asked again under its key, and charged once.
    const [invoice] = await sql`select status from invoices where id = ${met.invoice}`;
    expect(invoice?.status).toBe("PAID");
    expect(Math.max(...keyed.charges.values())).toBe(1);
  });

  it("keeps lanes that never met a 429 to the rate another lane's 429 set, from their first call, as it grows back", async () => {
    const keyed = keyedProvider(() => true);
    // 40 invoices: over two seconds of calls at the lowered rate, one at the limit.
    const { provider, sql, replicas } = await twoLanes(40, 40, (call) => keyed.charge(call));
    // A lane elsewhere met a 429 and lowered the shared rate from 40 to 16 a second, by the
    // statement a lane runs then; neither of these lanes meets one.
    const lowered = performance.now();
    await reportThrottle(sql, { decrease: { seen: null, rate: 16 }, pauseMs: 0 });
    const { body } = await pay(replicas.get("a")!.url);
    expect(body).toMatchObject({ status: "COMPLETED", total: 40, done: 40 });

    // A lane reads the rate at its first tick and asks its share at that rate in the next: from
    // the first call on, no second holds more calls than the lowered rate, grown back since, plus
    // one per lane.
    const grownBy = (at: number) => 16 + 40 * INCREASE_PER_SECOND * ((at - lowered) / 1000);
    for (const call of provider.calls) {
      const second = provider.calls.filter(
        (next) => next.at >= call.at && next.at < call.at + 1_000,
      );
      expect(second.length).toBeLessThanOrEqual(Math.floor(grownBy(call.at + 1_000)) + 2);
    }
    expect(Math.max(...keyed.charges.values())).toBe(1);
  });

  it("gives a lane that fills all its slots at once its first share at the lowered rate, not the limit", async () => {
    // A provider that ignores keys: a lane claims what its 32 slots take, and claims (and so
    // ticks) again only when a slot frees, a second later. A first share asked at the limit would
    // let that first second's calls go 40 a second.
    const keyed = keyedProvider(() => true);
    const { provider, sql, replicas } = await twoLanes(
      40,
      40,
      async (call) => {
        await sleep(1_000);
        return keyed.charge(call);
      },
      { BILLING_CONCURRENCY: "32", PAYMENT_PROVIDER_IDEMPOTENT: "false" },
    );
    const lowered = performance.now();
    await reportThrottle(sql, { decrease: { seen: null, rate: 8 }, pauseMs: 0 });
    const { body } = await pay(replicas.get("a")!.url);
    expect(body).toMatchObject({ status: "COMPLETED", total: 40, done: 40 });

    const grownBy = (at: number) => 8 + 40 * INCREASE_PER_SECOND * ((at - lowered) / 1000);
    for (const call of provider.calls) {
      const second = provider.calls.filter(
        (next) => next.at >= call.at && next.at < call.at + 1_000,
      );
      expect(second.length).toBeLessThanOrEqual(Math.floor(grownBy(call.at + 1_000)) + 2);
    }
    expect(Math.max(...keyed.charges.values())).toBe(1);
  });
});
