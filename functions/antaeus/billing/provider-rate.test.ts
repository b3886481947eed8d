import { describe, expect, it } from "vitest";
import {
  afterThrottle,
  currentRate,
  DECREASE_FACTOR,
  fairShare,
  INCREASE_PER_SECOND,
  MIN_RATE,
  shareRequest,
} from "./provider-rate.js";

const never = { rate: null, sinceDecreaseMs: null };

describe("the provider's rate", () => {
  it("is the configured limit until a 429 comes; no limit and no 429: none", () => {
    expect(currentRate(150, never)).toBe(150);
    expect(currentRate(undefined, never)).toBeUndefined();
  });

  it("drops by the decrease factor on a 429, never below the floor", () => {
    expect(afterThrottle(150)).toBeCloseTo(150 * DECREASE_FACTOR);
    expect(afterThrottle(0.5)).toBe(MIN_RATE);
  });

  it("grows back by a share of the limit each second, up to the limit and no further", () => {
    const cut = afterThrottle(150);
    expect(currentRate(150, { rate: cut, sinceDecreaseMs: 0 })).toBeCloseTo(cut);
    expect(currentRate(150, { rate: cut, sinceDecreaseMs: 2_000 })).toBeCloseTo(
      cut + 2 * INCREASE_PER_SECOND * 150,
    );
    expect(currentRate(150, { rate: cut, sinceDecreaseMs: 60_000 })).toBe(150);
  });

  it("without a limit, grows back by a share of the rate the 429 met, without a ceiling", () => {
    const met = 400;
    const cut = afterThrottle(met);
    expect(currentRate(undefined, { rate: cut, sinceDecreaseMs: 1_000 })).toBeCloseTo(
      cut + INCREASE_PER_SECOND * met,
    );
    expect(currentRate(undefined, { rate: cut, sinceDecreaseMs: 600_000 })).toBeGreaterThan(met);
  });
});

describe("a lane's part of the rate", () => {
  it("is an equal part for each lane holding one", () => {
    expect(fairShare(150, 4)).toBe(37.5);
    expect(fairShare(150, 0)).toBe(150);
  });
});

describe("the share a lane asks for in its tick", () => {
  it("is none before the lane has read the shared rate, so a rate a 429 lowered binds its first share", () => {
    expect(shareRequest(150, undefined, true)).toBeUndefined();
    // Read: its part of the lowered rate, not of the limit, under the lowered rate as the cap.
    const lowered = { rate: afterThrottle(150), sinceDecreaseMs: 0, holders: 3 };
    expect(shareRequest(150, lowered, true)).toEqual({
      want: afterThrottle(150) / 3,
      cap: afterThrottle(150),
    });
  });

  it("is nothing without work, and none where no rate binds", () => {
    expect(shareRequest(150, { ...never, holders: 1 }, false)).toEqual({ want: 0, cap: 150 });
    expect(shareRequest(undefined, { ...never, holders: 1 }, true)).toBeUndefined();
  });
});
