import { describe, expect, it } from "vitest";
import type { Verdict } from "../domain/attempt.js";
import { attemptColumns, verdictColumns } from "./verdicts.js";

const attemptedAt = new Date("2026-02-01T00:00:05.000Z");

const verdict = (overrides: Partial<Verdict>): Verdict => ({
  invoiceId: 7,
  attemptKey: "6c4a3a4e-3f0e-4b8e-9a57-0e8b7f7f2f41",
  amountMinor: 1234n,
  status: "PAID",
  keepKey: false,
  calls: 1,
  retry: 0,
  declineReason: null,
  dunning: { declines: 0, since: null, nextRetryAt: null },
  attempts: [
    {
      invoiceId: 7,
      attemptNumber: 1,
      idempotencyKey: "6c4a3a4e-3f0e-4b8e-9a57-0e8b7f7f2f41",
      outcome: "PAID",
      httpStatus: 200,
      latencyMs: 12,
      chargeId: "ch_1",
      error: null,
      attemptedAt,
      retry: 0,
      declineReason: null,
    },
  ],
  ...overrides,
});

describe("a batch of verdicts as the statement writes it", () => {
  it("carries each invoice's amount as the exact decimal every event states", () => {
    const columns = verdictColumns([
      verdict({ amountMinor: 1234n }),
      verdict({ invoiceId: 8, amountMinor: 7n }),
      verdict({ invoiceId: 9, amountMinor: 999_999_999_999_999n }),
    ]);
    expect(columns.amount).toEqual(["12.34", "0.07", "9999999999999.99"]);
  });

  it("marks a verdict that leaves the dunning state as it was, so the invoice keeps its own", () => {
    const columns = verdictColumns([
      verdict({ status: "NETWORK_ERROR", dunning: undefined }),
      verdict({
        invoiceId: 8,
        status: "DECLINED",
        declineReason: "insufficient_funds",
        dunning: {
          declines: 1,
          since: new Date("2026-02-01T00:00:00.000Z"),
          nextRetryAt: new Date("2026-02-02T00:00:00.000Z"),
        },
      }),
    ]);
    expect(columns.dunning).toEqual([false, true]);
    expect(columns.declines).toEqual([0, 1]);
    expect(columns.since).toEqual([null, "2026-02-01T00:00:00.000Z"]);
    expect(columns.nextRetryAt).toEqual([null, "2026-02-02T00:00:00.000Z"]);
    expect(columns.reason).toEqual([null, "insufficient_funds"]);
  });

  it("lines every column up: one value per verdict, one per attempt", () => {
    const verdicts = [verdict({}), verdict({ invoiceId: 8, calls: 0, attempts: [] })];
    for (const column of Object.values(verdictColumns(verdicts))) expect(column).toHaveLength(2);
    const attempts = attemptColumns(verdicts.flatMap((each) => each.attempts));
    for (const column of Object.values(attempts)) expect(column).toHaveLength(1);
    expect(attempts.attemptedAt).toEqual([attemptedAt.toISOString()]);
  });
});
