import { describe, expect, it } from "vitest";
import { addMonths, isPeriod, periodOf } from "./period.js";

describe("billing periods", () => {
  it("begin at midnight on the 1st in Copenhagen, not in UTC", () => {
    // 23:30 UTC on 31 October is 00:30 on 1 November in Copenhagen (CET, UTC+1).
    expect(periodOf(new Date("2026-10-31T23:30:00Z"))).toBe("2026-11-01");
    expect(periodOf(new Date("2026-10-31T22:59:59Z"))).toBe("2026-10-01");
    // Summer time (CEST, UTC+2).
    expect(periodOf(new Date("2026-06-30T22:00:00Z"))).toBe("2026-07-01");
  });

  it("add months across years, both ways", () => {
    expect(addMonths("2026-11-01", 1)).toBe("2026-12-01");
    expect(addMonths("2026-12-01", 1)).toBe("2027-01-01");
    expect(addMonths("2026-01-01", -1)).toBe("2025-12-01");
    expect(addMonths("2026-03-01", -14)).toBe("2025-01-01");
  });

  it("are the first day of a real month, written YYYY-MM-01", () => {
    expect(isPeriod("2026-11-01")).toBe(true);
    for (const text of ["2026-11-02", "2026-13-01", "2026-00-01", "2026-1-01", "26-11-01"]) {
      expect(isPeriod(text), text).toBe(false);
    }
  });
});
