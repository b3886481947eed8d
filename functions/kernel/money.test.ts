import { describe, expect, it } from "vitest";
import { formatDecimal, isCurrency, parseDecimal } from "./money.js";

describe("money in minor units", () => {
  it("reads a plain decimal with up to two places as exact minor units", () => {
    expect(parseDecimal("301.9")).toBe(30190n);
    expect(parseDecimal("301.99")).toBe(30199n);
    expect(parseDecimal("0.01")).toBe(1n);
    expect(parseDecimal("999999999999999")).toBe(99999999999999900n);
  });

  it("refuses what is not such a decimal: three places, a sign, an exponent, sixteen digits", () => {
    for (const text of ["1.001", "-1", "+1", "1e3", "1.", ".5", "", "1234567890123456", "NaN"]) {
      expect(parseDecimal(text), text).toBeUndefined();
    }
  });

  it("writes minor units back as the exact decimal with two places", () => {
    expect(formatDecimal(30190n)).toBe("301.90");
    expect(formatDecimal(7n)).toBe("0.07");
    expect(formatDecimal(-150n)).toBe("-1.50");
    expect(formatDecimal(999_999_999_999_999n)).toBe("9999999999999.99");
  });

  it("round-trips every amount it writes", () => {
    for (const minor of [1n, 99n, 100n, 12_345n, 999_999_999_999_999n]) {
      expect(parseDecimal(formatDecimal(minor))).toBe(minor);
    }
  });

  it("knows the currencies billed in, and nothing else", () => {
    expect(isCurrency("DKK")).toBe(true);
    expect(isCurrency("dkk")).toBe(false);
    expect(isCurrency("XXX")).toBe(false);
    expect(isCurrency(1)).toBe(false);
  });
});
