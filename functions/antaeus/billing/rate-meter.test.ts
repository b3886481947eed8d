import { describe, expect, it } from "vitest";
import { RateMeter } from "./rate-meter.js";

describe("a rate meter", () => {
  it("knows nothing before a whole second has passed", () => {
    const meter = new RateMeter(() => 500);
    meter.add(10);
    expect(meter.perSecond()).toBeUndefined();
  });

  it("averages the whole seconds it has seen, leaving out the running one", () => {
    let now = 0;
    const meter = new RateMeter(() => now);
    for (; now < 3_000; now += 10) meter.add(); // 100 a second for three seconds
    now = 3_500;
    meter.add(1_000); // the running second does not count yet
    expect(meter.perSecond()).toBeCloseTo(100);
  });

  it("forgets what is older than its window", () => {
    let now = 0;
    const meter = new RateMeter(() => now);
    meter.add(500);
    now = 20_000;
    expect(meter.perSecond()).toBe(0);
  });
});
