import { describe, expect, it } from "vitest";
import { admit, burstOf, rateLimiter } from "./rate-limit.js";

describe("payment's rate limit", () => {
  it("admits `rate` calls a second, evenly spaced, and refuses one that comes too soon", () => {
    const limit = { rate: 10, burst: 1 };
    const first = admit(limit, Number.NEGATIVE_INFINITY, 0);
    expect(first).toEqual({ admitted: true, tat: 100 });
    expect(admit(limit, 100, 50)).toEqual({ admitted: false, retryAfterMs: 50 });
    expect(admit(limit, 100, 100)).toEqual({ admitted: true, tat: 200 });
  });

  it("admits a burst after a pause, then holds callers to the rate", () => {
    let now = 0;
    const limiter = rateLimiter({ rate: 100, burst: 5 }, () => now);
    const answers = Array.from({ length: 7 }, () => limiter.refuse());
    expect(answers.slice(0, 5)).toEqual([undefined, undefined, undefined, undefined, undefined]);
    expect(answers[5]).toBeCloseTo(10);
    now = 10;
    expect(limiter.refuse()).toBeUndefined();
  });

  it("over a long stretch admits no more than rate × seconds + burst", () => {
    let now = 0;
    const limiter = rateLimiter({ rate: 150, burst: burstOf(150) }, () => now);
    let admitted = 0;
    for (; now < 10_000; now += 1) if (limiter.refuse() === undefined) admitted++;
    expect(admitted).toBeLessThanOrEqual(150 * 10 + burstOf(150));
    expect(admitted).toBeGreaterThanOrEqual(150 * 10);
  });

  it("with no limit set, refuses nothing", () => {
    const limiter = rateLimiter(undefined);
    expect(
      Array.from({ length: 1_000 }, () => limiter.refuse()).every((r) => r === undefined),
    ).toBe(true);
  });
});
