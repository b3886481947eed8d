import { describe, expect, it } from "vitest";
import { loadAntaeusConfig } from "../../functions/antaeus/config.js";

/**
 * A lease must outlast one charge at its worst: every try running into its deadline, every wait
 * at its cap, `(PAYMENT_RETRIES + 1) × PAYMENT_TIMEOUT_MS + PAYMENT_RETRIES × 5 s`. A shorter one
 * would let a second worker take an invoice over while the first still waits for an answer.
 */
describe("the lease", () => {
  it("is refused when it does not outlast one charge's worst case, and taken when it does", () => {
    const charge = { PAYMENT_TIMEOUT_MS: "3000", PAYMENT_RETRIES: "3" }; // 4 × 3 s + 3 × 5 s
    expect(() => loadAntaeusConfig({ ...charge, BILLING_LEASE_MS: "27000" })).toThrow(
      /BILLING_LEASE_MS: must exceed the worst case of one charge with retries \(27000 ms\)/,
    );
    expect(loadAntaeusConfig({ ...charge, BILLING_LEASE_MS: "27001" }).billing.leaseMs).toBe(
      27_001,
    );
    expect(loadAntaeusConfig({}).billing).toMatchObject({ leaseMs: 60_000, timeoutMs: 3_000 });
  });
});
