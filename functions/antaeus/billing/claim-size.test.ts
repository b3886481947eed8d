import { describe, expect, it } from "vitest";
import { CLAIM_AHEAD_MS, claimSize, type LaneLoad, MAX_CLAIM } from "./claim-size.js";

const lane = (load: Partial<LaneLoad>): LaneLoad => ({
  concurrency: 16,
  inFlight: 0,
  waiting: 0,
  idempotent: true,
  pace: undefined,
  tickDue: false,
  ...load,
});

describe("what a lane claims, with a provider that honours keys", () => {
  it("claims a slot-full before it knows its pace", () => {
    expect(claimSize(lane({}))).toBe(16);
  });

  it("claims the next batch while half of the last still waits, not before", () => {
    expect(claimSize(lane({ inFlight: 16, waiting: 8 }))).toBe(0);
    expect(claimSize(lane({ inFlight: 16, waiting: 7 }))).toBe(16);
  });

  it("claims enough to stay busy for CLAIM_AHEAD_MS at the pace it keeps", () => {
    const pace = 40;
    const batch = (pace * CLAIM_AHEAD_MS) / 1000;
    expect(claimSize(lane({ pace, waiting: batch / 2 - 1 }))).toBe(batch);
    expect(claimSize(lane({ pace, waiting: batch / 2 }))).toBe(0);
  });

  it("tops what waits up to a batch on a tick it sends anyway", () => {
    expect(claimSize(lane({ inFlight: 16, waiting: 10, tickDue: true }))).toBe(6);
    expect(claimSize(lane({ inFlight: 16, waiting: 16, tickDue: true }))).toBe(0);
  });

  it("never claims fewer than its slots, nor more than MAX_CLAIM", () => {
    expect(claimSize(lane({ pace: 1 }))).toBe(16);
    expect(claimSize(lane({ pace: 1_000_000 }))).toBe(MAX_CLAIM);
  });
});

describe("what a lane claims, with a provider that ignores keys", () => {
  it("claims only what its free slots take at once", () => {
    expect(claimSize(lane({ idempotent: false, inFlight: 10 }))).toBe(6);
    expect(claimSize(lane({ idempotent: false, inFlight: 10, pace: 500 }))).toBe(6);
  });

  it("claims nothing while one waits, or while every slot is busy, tick or not", () => {
    expect(claimSize(lane({ idempotent: false, inFlight: 4, waiting: 1 }))).toBe(0);
    expect(claimSize(lane({ idempotent: false, inFlight: 4, waiting: 1, tickDue: true }))).toBe(0);
    expect(claimSize(lane({ idempotent: false, inFlight: 16 }))).toBe(0);
  });
});
