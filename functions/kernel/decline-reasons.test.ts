import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { DECLINE_REASONS, isHardDecline } from "./decline-reasons.js";

describe("decline reasons", () => {
  it("a dead card or account is a hard decline: no retry can fix it", () => {
    for (const reason of ["expired_card", "stolen_card", "invalid_account"]) {
      expect(isHardDecline(reason), reason).toBe(true);
    }
  });

  it("a decline the issuer may approve later, an unknown reason and none at all are soft", () => {
    for (const reason of ["insufficient_funds", "do_not_honor", "try_again_later", "lost_card"]) {
      expect(isHardDecline(reason), reason).toBe(false);
    }
    expect(isHardDecline(null)).toBe(false);
  });

  // Callers read the contract, not this file: its table must say the same kind for each reason.
  it("are the ones docs/payment-contract.md lists, each of the kind it says", () => {
    const contract = readFileSync(
      new URL("../../docs/payment-contract.md", import.meta.url),
      "utf8",
    );
    const listed = Object.fromEntries(
      [...contract.matchAll(/^\| `(\w+)` \| (soft|hard) \|/gm)].map(([, reason, kind]) => [
        reason,
        kind,
      ]),
    );
    expect(listed).toEqual(
      Object.fromEntries(
        DECLINE_REASONS.map((reason) => [reason, isHardDecline(reason) ? "hard" : "soft"]),
      ),
    );
  });
});
