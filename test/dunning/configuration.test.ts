import { describe, expect, it } from "vitest";
import { loadAntaeusConfig } from "../../functions/antaeus/config.js";

const DAY = 86_400_000;
const schedule = (value: string) =>
  loadAntaeusConfig({ BILLING_RETRY_SCHEDULE: value }).billing.retrySchedule;

describe("BILLING_RETRY_SCHEDULE and BILLING_CLOCK_FILE", () => {
  it("reads ISO 8601 durations from the first decline, P1D,P3D,P7D by default", () => {
    expect(loadAntaeusConfig({}).billing.retrySchedule).toEqual([DAY, 3 * DAY, 7 * DAY]);
    expect(schedule("PT6H, P1DT12H")).toEqual([6 * 3_600_000, 36 * 3_600_000]);
    expect(schedule("none")).toEqual([]);
  });

  it.each(["P1M", "1D", "P1D,P1D", "P3D,P1D", "PT0S", "P", "PT"])(
    "refuses %s, naming the variable",
    (value) => {
      expect(() => schedule(value)).toThrow(/BILLING_RETRY_SCHEDULE/);
    },
  );

  it("refuses a clock file in production", () => {
    expect(() =>
      loadAntaeusConfig({
        NODE_ENV: "production",
        DATABASE_URL: "postgres://a@b/c",
        PAYMENT_PROVIDER_ENDPOINT: "http://payment/v1/charges",
        BILLING_LANE_URL: "http://antaeus-billing",
        BILLING_CLOCK_FILE: "/tmp/now",
      }),
    ).toThrow(/BILLING_CLOCK_FILE: is refused when NODE_ENV=production/);
  });
});
