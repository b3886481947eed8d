import { describe, expect, it } from "vitest";
import { nextCallAt, Pacer, PacerClosed, type PaceState } from "./pacer.js";

const state = (s: Partial<PaceState>): PaceState => ({
  share: 10,
  validUntil: 10_000,
  pausedUntil: 0,
  lastCallAt: Number.NEGATIVE_INFINITY,
  ...s,
});

describe("when a lane's next call may go", () => {
  it("spaces calls 1/share apart, so a second holds at most share + 1 of them", () => {
    expect(nextCallAt(state({ lastCallAt: 1_000 }), 1_000)).toBe(1_100);
    expect(nextCallAt(state({ lastCallAt: 1_000 }), 1_250)).toBe(1_250);
    let at = 0;
    let calls = 0;
    for (let t = nextCallAt(state({}), 0); t !== undefined && t < 1_000; calls++) {
      at = t;
      t = nextCallAt(state({ lastCallAt: at }), at);
    }
    expect(calls).toBe(10);
  });

  it("waits out a pause, whatever the share", () => {
    expect(nextCallAt(state({ pausedUntil: 3_000 }), 1_000)).toBe(3_000);
    expect(nextCallAt(state({ share: undefined, pausedUntil: 3_000 }), 1_000)).toBe(3_000);
  });

  it("goes at once without a limit", () => {
    expect(nextCallAt(state({ share: undefined, lastCallAt: 999 }), 1_000)).toBe(1_000);
  });

  it("makes no call without a share, or past the grant it holds", () => {
    expect(nextCallAt(state({ share: 0 }), 1_000)).toBeUndefined();
    expect(nextCallAt(state({ validUntil: 1_050, lastCallAt: 1_000 }), 1_000)).toBeUndefined();
  });
});

describe("a lane's pacer", () => {
  it("lets no call through before its first grant, then in order at the share's pace", async () => {
    const pacer = new Pacer(true);
    const order: number[] = [];
    const permits = [1, 2, 3].map((n) => pacer.permit().then(() => order.push(n)));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(order).toEqual([]);
    expect(pacer.waiting).toBe(3);
    const granted = performance.now();
    pacer.grant(100, 1_000);
    await Promise.all(permits);
    expect(order).toEqual([1, 2, 3]);
    // Three calls at 100 a second: the third no sooner than 20 ms after the first.
    expect(performance.now() - granted).toBeGreaterThanOrEqual(19);
  });

  it("ends every wait with an error once closed", async () => {
    const pacer = new Pacer(true);
    const waiting = pacer.permit();
    pacer.close("the database is unreachable");
    await expect(waiting).rejects.toBeInstanceOf(PacerClosed);
    await expect(pacer.permit()).rejects.toBeInstanceOf(PacerClosed);
  });
});
