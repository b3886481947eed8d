import { describe, expect, it } from "vitest";
import { pingDelivery } from "../support/cloudevents.js";
import { inProcessSystem } from "../support/in-process.js";
import { pay } from "../support/system.js";

/**
 * CloudEvents identify an event by `source` and `id` together (CloudEvents v1.0.2,
 * `cloudevents/spec.md`, attribute `id`:
 * "Producers MUST ensure that source + id is unique for each distinct event"), and Knative's
 * data-plane contract says a recipient that detects duplicates must use both
 * (knative/specs `specs/eventing/data-plane.md`).
 */
describe("a repeated PingSource event", () => {
  it("is known by its source and id together: another PingSource's event with the same ce-id starts its own run, and each redelivery gets its own event's run", async () => {
    // Every charge declined softly, so the other PingSource's tick surely finds retries due
    // (with random answers, a run with no soft decline among its ten came about once in 250).
    const system = await inProcessSystem({
      antaeus: { SEED_CUSTOMERS: "5", SEED_INVOICES_PER_CUSTOMER: "2" },
      payment: { PAYMENT_SUCCESS_RATE: "0", PAYMENT_DECLINE_REASONS: "insufficient_funds=1" },
    });
    try {
      const url = system.url;
      const tick = (source: string) => pingDelivery({ source, id: "tick-1" });
      const monthly = await pay(url, tick("antaeus/monthly-billing"));
      expect(monthly.body).toMatchObject({ created: true, status: "COMPLETED" });
      // Due for the other PingSource's tick: the soft declines' retries.
      await system.antaeusDb`
        update invoices set next_retry_at = now() - interval '1 minute' where status = 'DECLINED'`;

      const other = await pay(url, tick("antaeus/catch-up-billing"));
      expect(other.body).toMatchObject({ created: true, status: "COMPLETED" });
      expect(other.body.id).not.toBe(monthly.body.id);

      const redelivered = await Promise.all([
        pay(url, tick("antaeus/catch-up-billing")),
        pay(url, tick("antaeus/monthly-billing")),
      ]);
      expect(redelivered.map(({ body }) => [body.id, body.created])).toEqual([
        [other.body.id, false],
        [monthly.body.id, false],
      ]);
      const [runs] = await system.antaeusDb`select count(*)::int as n from billing_runs`;
      expect(runs?.n).toBe(2);
    } finally {
      await system.stop();
    }
  });
});
