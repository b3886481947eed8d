import { describe, expect, it } from "vitest";
import { backoff } from "./backoff.js";
import { MAX_BACKOFF_MS, MAX_RETRY_AFTER_MS } from "./settings.js";

const highest = () => 0.999_999;

describe("the wait before a retry", () => {
  it("doubles its ceiling each retry, from 100 ms up to the cap", () => {
    expect(backoff(0, undefined, highest)).toBeCloseTo(100, 0);
    expect(backoff(1, undefined, highest)).toBeCloseTo(200, 0);
    expect(backoff(3, undefined, highest)).toBeCloseTo(800, 0);
    expect(backoff(20, undefined, highest)).toBeLessThan(MAX_BACKOFF_MS);
    expect(backoff(20, undefined, highest)).toBeCloseTo(MAX_BACKOFF_MS, -1);
  });

  it("is drawn at random below the ceiling (full jitter)", () => {
    expect(backoff(3, undefined, () => 0)).toBe(0);
    expect(backoff(3, undefined, () => 0.5)).toBe(400);
  });

  it("waits at least what Retry-After asked, but never longer than the cap", () => {
    expect(backoff(0, 1_500, () => 0)).toBe(1_500);
    expect(backoff(0, 60_000, () => 0)).toBe(MAX_RETRY_AFTER_MS);
  });
});
