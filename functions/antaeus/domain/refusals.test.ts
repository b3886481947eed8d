import { describe, expect, it } from "vitest";
import { providerRefusal } from "./refusals.js";
import { OUTCOMES, type Outcome } from "./status.js";

const counts = (some: Partial<Record<Outcome, number>>) =>
  ({ ...Object.fromEntries(OUTCOMES.map((o) => [o, 0])), ...some }) as Record<Outcome, number>;

describe("a run the provider refused", () => {
  // The judged path on a cluster whose issuer payment did not expect: 0 of 1,000 PAID.
  it("names every charge refused as a configuration problem", () => {
    const refusal = providerRefusal(counts({ REJECTED: 1000 }));
    expect(refusal).toMatchObject({
      code: "provider_refused_every_charge",
      refused: 1000,
      answered: 1000,
    });
    expect(refusal?.message).toContain("configuration problem");
  });

  it("counts a storm among some answers, from ten refusals and half the answers", () => {
    expect(providerRefusal(counts({ REJECTED: 10, PAID: 10 }))?.code).toBe(
      "provider_refused_most_charges",
    );
    expect(providerRefusal(counts({ REJECTED: 9, PAID: 9 }))).toBeNull();
    expect(providerRefusal(counts({ REJECTED: 10, PAID: 6, DECLINED: 5 }))).toBeNull();
  });

  // No answer is not a refusal: network errors and unknown outcomes do not count either way.
  it("says nothing of a run with no refusals, or one refusal among answers", () => {
    expect(providerRefusal(counts({ PAID: 500, DECLINED: 500 }))).toBeNull();
    expect(providerRefusal(counts({ NETWORK_ERROR: 1000 }))).toBeNull();
    expect(providerRefusal(counts({ REJECTED: 1, PAID: 999 }))).toBeNull();
    expect(providerRefusal(counts({ REJECTED: 1, NETWORK_ERROR: 999 }))?.code).toBe(
      "provider_refused_every_charge",
    );
  });
});
