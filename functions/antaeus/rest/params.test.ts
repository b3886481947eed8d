import { describe, expect, it } from "vitest";
import { idOf, MAX_ID } from "./params.js";

const invoiceId = idOf("invoice id");
const firstMessage = (raw: string) => invoiceId.safeParse(raw).error?.issues[0]?.message;

describe("an id in a path or query", () => {
  it("is a positive 32-bit integer, handed on as a number", () => {
    expect(invoiceId.parse("1")).toBe(1);
    expect(invoiceId.parse(String(MAX_ID))).toBe(MAX_ID);
  });

  it("refuses anything else with a message naming the id and what was given", () => {
    expect(firstMessage("abc")).toBe('invoice id must be a positive integer, got "abc"');
    expect(firstMessage("-1")).toBe('invoice id must be a positive integer, got "-1"');
    expect(firstMessage("1.5")).toBe('invoice id must be a positive integer, got "1.5"');
    expect(firstMessage("0")).toBe(`invoice id must be between 1 and ${MAX_ID}, got 0`);
    expect(firstMessage("2147483648")).toBe(
      `invoice id must be between 1 and ${MAX_ID}, got 2147483648`,
    );
  });

  it("carries the invalid_id code and its status for the validation hook", () => {
    const issue = invoiceId.safeParse("x").error?.issues[0];
    expect(issue?.code).toBe("custom");
    expect(issue && "params" in issue ? issue.params : undefined).toEqual({
      code: "invalid_id",
      status: 400,
    });
  });
});
