import { describe, expect, it } from "vitest";
import { exactlyOnceViolations, pay, type System, startSystem } from "../support/system.js";

/**
 * Charges whose answers were lost: our payment charges every call, commits it, and answers only
 * a minute later, long after Antaeus's deadline. Each invoice of the first run is charged and
 * ends NETWORK_ERROR, its outcome unknown to Antaeus. What the next run does with it decides
 * whether the customer pays once or twice; the provider's ledger says which.
 */
async function chargedButUnanswered(): Promise<System> {
  const system = await startSystem({
    antaeus: {
      SEED_CUSTOMERS: "5",
      SEED_INVOICES_PER_CUSTOMER: "2",
      PAYMENT_TIMEOUT_MS: "2000",
      PAYMENT_RETRIES: "0",
      BILLING_LEASE_MS: "2500",
    },
    payment: {
      PAYMENT_SUCCESS_RATE: "1",
      PAYMENT_LATE_REPLY_MS: "60000",
      // The answers still sleeping must not hold up the stop.
      SHUTDOWN_TIMEOUT_MS: "200",
    },
  });
  const first = await pay(system.antaeus[0]!.url);
  expect(first.body.counts.NETWORK_ERROR).toBe(10);
  // Every call reached the provider, which charged it under the key the invoice keeps.
  const kept = await system.antaeusDb<Array<{ attempt_key: string }>>`
    select attempt_key from invoices where status = 'NETWORK_ERROR' and attempt_key is not null`;
  expect(kept).toHaveLength(10);
  const charged = async () =>
    new Set(
      (
        await system.ledgerDb<Array<{ idempotency_key: string }>>`
          select idempotency_key from payment.charges where status = 'succeeded'`
      ).map((row) => row.idempotency_key),
    );
  await expect.poll(charged).toEqual(new Set(kept.map((row) => row.attempt_key)));
  return system;
}

describe("an unknown outcome is resolved before anything else", () => {
  it("NETWORK_ERROR keeps its key: the next run asks under it, the provider answers with the charge it made, and nothing is charged twice", async () => {
    const system = await chargedButUnanswered();
    try {
      const second = await pay(system.antaeus[0]!.url);
      expect(second.body).toMatchObject({ total: 10, status: "COMPLETED" });
      expect(second.body.counts.PAID).toBe(10);
      const [ledger] =
        await system.ledgerDb`select count(*)::int as n from payment.charges where status = 'succeeded'`;
      expect(ledger?.n).toBe(10);
      expect(await exactlyOnceViolations(system)).toEqual([]);
    } finally {
      await system.stop();
    }
  });

  it("even when the invoice's data changed meanwhile: it is asked about under its key first, not re-examined and given up", async () => {
    const system = await chargedButUnanswered();
    try {
      // A person changes customer 1's currency: its invoices no longer match. Checked before a
      // new attempt, that is a CURRENCY_MISMATCH; but these were charged already.
      await system.antaeusDb`
        update customers set currency = case when currency = 'EUR' then 'USD' else 'EUR' end
        where id = 1`;
      const second = await pay(system.antaeus[0]!.url);
      expect(second.body.counts).toMatchObject({ PAID: 10, CURRENCY_MISMATCH: 0 });
      const ofCustomer = await system.antaeusDb<Array<{ status: string }>>`
        select status from invoices where customer_id = 1`;
      expect(ofCustomer.map((row) => row.status)).toEqual(["PAID", "PAID"]);
      expect(await exactlyOnceViolations(system)).toEqual([]);
    } finally {
      await system.stop();
    }
  });
});
