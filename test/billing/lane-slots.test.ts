import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AntaeusConfig } from "../../functions/antaeus/config.js";
import { lanesOf, laneTick, startLanes } from "../../functions/antaeus/data/lanes.js";
import { startOrJoinRun } from "../../functions/antaeus/data/runs.js";
import { type InProcessApp, inProcessAntaeus } from "../support/in-process.js";

// The lanes' bookkeeping in PostgreSQL (data/lanes.ts), statement by statement: which request
// holds a slot, and how the provider's rate is shared.

let antaeus: InProcessApp<AntaeusConfig>;
let runId: number;
beforeAll(async () => {
  antaeus = await inProcessAntaeus({
    SEED_CUSTOMERS: "2",
    SEED_INVOICES_PER_CUSTOMER: "10",
    SEED_LAST_PERIOD: "2026-10",
  });
  const started = await startOrJoinRun(
    antaeus.sql,
    { kind: "api", chargeNow: true },
    "2026-10-01",
    new Date(),
  );
  runId = started!.run.id;
});
afterAll(() => antaeus?.close());

const report = {
  worker: "test",
  settled: 0,
  throttled: 0,
  invoicesPerSecond: 0,
  callsPerSecond: 0,
};
const tick = (slot: { lane: number; holder: string }, claim: number, share?: number) =>
  laneTick(antaeus.sql, {
    runId,
    ...slot,
    claim,
    leaseMs: 60_000,
    report,
    share: share === undefined ? undefined : { want: share, cap: 40, validMs: 60_000 },
  });

describe("a lane's slot", () => {
  it("is started once; a silent one gets a new holder, and the old holder claims nothing", async () => {
    const first = await startLanes(antaeus.sql, { runId, wanted: 2, staleMs: 60_000 });
    expect(first.map((slot) => slot.lane)).toEqual([1, 2]);
    // Both are alive: starting them again starts nothing.
    expect(await startLanes(antaeus.sql, { runId, wanted: 2, staleMs: 60_000 })).toEqual([]);
    expect((await tick(first[0]!, 3)).invoices).toHaveLength(3);

    // Silent for longer than staleMs (0 here): each gets a new holder.
    const again = await startLanes(antaeus.sql, { runId, wanted: 2, staleMs: 0 });
    expect(again.map((slot) => slot.lane)).toEqual([1, 2]);
    expect(again[0]!.holder).not.toBe(first[0]!.holder);
    const stale = await tick(first[0]!, 3);
    expect(stale).toMatchObject({ held: false, invoices: [] });
    const current = await tick(again[0]!, 3);
    expect(current).toMatchObject({ held: true });
    expect(current.invoices).toHaveLength(3);
  });

  it("ends when its run wants fewer lanes than its number, as it hands on", async () => {
    const [, second] = await startLanes(antaeus.sql, { runId, wanted: 2, staleMs: 0 });
    const next = await startLanes(antaeus.sql, {
      runId,
      wanted: 1,
      staleMs: 60_000,
      handingOver: { ...second!, settled: 0 },
    });
    expect(next).toEqual([]);
    const lanes = await lanesOf(antaeus.sql, runId);
    expect(lanes.find((lane) => lane.lane === 2)?.state).toBe("ended");
  });
});

describe("the provider's rate, shared", () => {
  it("never grants shares that add up to more than the rate, whatever each lane asks", async () => {
    const [a, b] = await startLanes(antaeus.sql, { runId, wanted: 2, staleMs: 0 });
    expect((await tick(a!, 0, 30)).share).toBe(30);
    // The other lane asks as much: it gets what is left of 40.
    expect((await tick(b!, 0, 30)).share).toBe(10);
    // The first gives some back at its next tick; the second then gets it.
    expect((await tick(a!, 0, 20)).share).toBe(20);
    const shared = await tick(b!, 0, 20);
    expect(shared.share).toBe(20);
    expect(shared.provider.holders).toBe(2);
  });
});
