import { describe, expect, it } from "vitest";
import { laneCount } from "./lanes.js";

describe("the lanes a run starts", () => {
  it("is one per slot-full of invoices left, up to BILLING_LANES", () => {
    expect(laneCount(20_000, 16, 4)).toBe(4);
    expect(laneCount(64, 16, 4)).toBe(4);
    expect(laneCount(65, 16, 8)).toBe(5);
  });

  it("is one for a run smaller than a lane's slots: no lane starts that it cannot use", () => {
    expect(laneCount(1, 64, 5)).toBe(1);
    expect(laneCount(64, 64, 5)).toBe(1);
    expect(laneCount(17, 16, 5)).toBe(2);
  });

  it("is none once nothing is left", () => {
    expect(laneCount(0, 16, 4)).toBe(0);
    expect(laneCount(-3, 16, 4)).toBe(0);
  });
});
