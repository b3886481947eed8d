import { describe, expect, it } from "vitest";
import { exactlyOnceViolations, pay, startSystem, statusCounts } from "../support/system.js";

describe("every due invoice is charged at most once, when the provider answers late or not at all", () => {
  it("when the provider charges and answers after the caller's timeout: asked again under the same key, each invoice is charged once", async () => {
    // Every charge succeeds, so every invoice is charged exactly once when all is done; a fifth
    // of them are answered 1.5 s late, long after the deadline. 64 at once: a late reply holds
    // up its own invoice, not a queue behind it.
    const system = await startSystem({
      antaeus: {
        SEED_CUSTOMERS: "20",
        BILLING_CONCURRENCY: "64",
        PAYMENT_TIMEOUT_MS: "600",
        PAYMENT_RETRIES: "2",
        BILLING_LEASE_MS: "15000",
      },
      payment: {
        PAYMENT_SUCCESS_RATE: "1",
        PAYMENT_LATE_REPLY_MS: "1500",
        PAYMENT_LATE_REPLY_RATE: "0.2",
      },
    });
    try {
      const url = system.antaeus[0]!.url;
      const unresolved = async () => (await statusCounts(system)).NETWORK_ERROR ?? 0;
      // On a busy machine a retry's deadline can pass as well: what is still unknown after the
      // retries keeps its key, and the next run asks under it. Runs until nothing is unknown.
      expect((await pay(url)).body.status).toBe("COMPLETED");
      for (let run = 0; run < 5 && (await unresolved()) > 0; run++) await pay(url);
      expect(await statusCounts(system)).toEqual({ PAID: 200 });
      expect(await exactlyOnceViolations(system)).toEqual([]);

      // Timed-out calls were asked again, under the same key, and got the recorded charge.
      const retried = await system.antaeusDb<
        Array<{ invoice_id: number; keys: number; final: string }>
      >`
        select invoice_id, count(distinct idempotency_key)::int as keys,
               (array_agg(outcome order by id desc))[1] as final
        from payment_attempts group by invoice_id
        having count(*) filter (where outcome = 'UNKNOWN') > 0`;
      expect(retried.length).toBeGreaterThan(10);
      for (const invoice of retried) expect(invoice).toMatchObject({ keys: 1, final: "PAID" });
      const [ledger] = await system.ledgerDb`
        select count(*)::int as rows, count(distinct invoice_id)::int as invoices
        from payment.charges`;
      expect(ledger).toEqual({ rows: 200, invoices: 200 }); // however often each was asked
    } finally {
      await system.stop();
    }
  });

  it("when the provider answers 503 (honouring Retry-After), and NETWORK_ERROR keeps its key for the next run", async () => {
    // 200 invoices, all at once: each 503 costs its invoice a second's Retry-After, and the run
    // waits that second once, not once per wave.
    const system = await startSystem({
      antaeus: { SEED_CUSTOMERS: "20", PAYMENT_RETRIES: "1", BILLING_CONCURRENCY: "200" },
      payment: { PAYMENT_ERROR_RATE: "0.5" },
    });
    try {
      const first = await pay(system.antaeus[0]!.url);
      expect(first.body.status).toBe("COMPLETED");
      expect(first.body.counts.NETWORK_ERROR).toBeGreaterThan(20); // 0.5² of 200: 50, give or take
      expect(await exactlyOnceViolations(system)).toEqual([]);
      const kept = await system.antaeusDb<Array<{ id: number; attempt_key: string | null }>>`
        select id, attempt_key from invoices where status = 'NETWORK_ERROR'`;
      expect(kept.every((invoice) => invoice.attempt_key !== null)).toBe(true);
      // Retry-After: 1 was honoured between the two calls of an attempt.
      const [gap] = await system.antaeusDb<[{ min_ms: number }]>`
        select min(extract(epoch from (b.attempted_at - a.attempted_at)) * 1000)::int as min_ms
        from payment_attempts a join payment_attempts b
          on b.invoice_id = a.invoice_id and b.attempt_number = a.attempt_number + 1
        where a.http_status = 503`;
      expect(gap.min_ms).toBeGreaterThanOrEqual(900);

      const second = await pay(system.antaeus[0]!.url);
      expect(second.body.status).toBe("COMPLETED");
      const sample = kept[0]!;
      const keys = await system.antaeusDb<Array<{ idempotency_key: string }>>`
        select distinct idempotency_key from payment_attempts where invoice_id = ${sample.id}`;
      expect(keys.map((k) => k.idempotency_key)).toEqual([sample.attempt_key]);
      expect(await exactlyOnceViolations(system)).toEqual([]);
    } finally {
      await system.stop();
    }
  });
});
