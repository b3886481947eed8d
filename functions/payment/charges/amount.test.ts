import { describe, expect, it } from "vitest";
import { ApiError } from "../../runtime/index.js";
import { amountNumber, MAX_AMOUNT_MINOR, parseAmount } from "./amount.js";

const refusal = (value: unknown): string => {
  try {
    parseAmount(value);
  } catch (error) {
    if (error instanceof ApiError) return `${error.code}: ${error.message}`;
    throw error;
  }
  throw new Error(`accepted ${JSON.stringify(value)}`);
};

describe("a charge's value", () => {
  it("is read as the decimal the client wrote, number or string", () => {
    expect(parseAmount(301.9)).toBe(30190n);
    expect(parseAmount("301.90")).toBe(30190n);
    expect(parseAmount(0.01)).toBe(1n);
    expect(parseAmount("007.5")).toBe(750n);
    expect(parseAmount(9_999_999_999_999.99)).toBe(MAX_AMOUNT_MINOR);
  });

  it("refuses zero, negatives, three decimals, non-finite and too large values, naming the rule", () => {
    expect(refusal(0)).toBe("invalid_field: value must be greater than 0");
    expect(refusal("-1")).toBe("invalid_field: value must be greater than 0");
    expect(refusal(1.001)).toBe("invalid_field: value must have at most two decimals");
    expect(refusal(1e-7)).toBe("invalid_field: value must have at most two decimals");
    expect(refusal("Infinity")).toBe("invalid_field: value must be a finite number");
    expect(refusal(Number.NaN)).toBe("invalid_field: value must be a finite number");
    expect(refusal(1e16)).toBe("invalid_field: value must be at most 9999999999999.99");
    expect(refusal("1e3")).toMatch(/decimal string/);
    expect(refusal(true)).toMatch(/JSON number or a decimal string/);
  });

  it("goes out as a JSON number that reads back as the same decimal", () => {
    for (const minor of [1n, 30190n, MAX_AMOUNT_MINOR]) {
      expect(parseAmount(amountNumber(minor))).toBe(minor);
    }
  });
});
