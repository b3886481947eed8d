import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { VerdictWriter } from "../../functions/antaeus/billing/verdict-writer.js";
import { migrations } from "../../functions/antaeus/data/database.js";
import { recordVerdicts } from "../../functions/antaeus/data/verdicts.js";
import type { ClaimedInvoice } from "../../functions/antaeus/domain/claim.js";
import { connect, migrateUnderLock, type Sql } from "../../functions/runtime/process/database.js";
import { claimThroughOneLane, paidVerdict } from "../support/claims.js";
import { createDatabase } from "../support/database.js";
import { memoryLogger } from "../support/memory-logger.js";

/**
 * The outbox (docs/events.md) is only as good as its atomicity with the verdict: an event
 * written in a statement of its own, after the verdict commits, is lost for good by a crash or a
 * dropped connection between the two. A trigger that fails the outbox insert once stands in for
 * that moment: nothing of the verdict may stay behind, and the retry must write both.
 */
let sql: Sql;
const { logger } = memoryLogger();

beforeAll(async () => {
  const url = await createDatabase("outbox");
  await migrateUnderLock(url, migrations, logger);
  sql = await connect(url, { max: 2, logger });
  // Fails the next outbox insert, once: a sequence moves on even when its transaction rolls
  // back, so the second try goes through.
  await sql.unsafe(`
    create sequence outbox_faults;
    create function fail_outbox_once() returns trigger language plpgsql as $$
    begin
      if nextval('outbox_faults') = 1 then
        raise exception 'the outbox write failed';
      end if;
      return new;
    end $$;
    create trigger fail_outbox_once before insert on billing_events
      for each row execute function fail_outbox_once();`);
});
afterAll(() => sql?.end());

/** One due invoice of customer 1, claimed by a run: what a worker holds before its verdict. */
async function claimedInvoice(): Promise<{ runId: number; invoice: ClaimedInvoice }> {
  await sql`insert into customers (currency) values ('EUR')`;
  await sql`
    insert into invoices (customer_id, currency, amount_minor, period)
    values (1, 'EUR', 1234, '2026-01-01')`;
  const { runId, invoices } = await claimThroughOneLane(sql, 10, "worker-1");
  return { runId, invoice: invoices[0]! };
}

/** What the database says of the invoice, its run and its events. */
async function state(invoiceId: number, runId: number) {
  const [invoice] =
    await sql`select status, attempt_key, run_id from invoices where id = ${invoiceId}`;
  const [run] = await sql`select paid from billing_runs where id = ${runId}`;
  const events =
    await sql`select type, subject, data->'amount' as amount from billing_events order by time`;
  const [attempts] = await sql`select count(*)::int as n from payment_attempts`;
  return { invoice, paid: run?.paid, events, attempts: attempts?.n };
}

describe("a verdict and its events", () => {
  it("roll back together when the outbox write fails, and apply together on the retry", async () => {
    const { runId, invoice } = await claimedInvoice();
    await expect(recordVerdicts(sql, runId, [paidVerdict(invoice)], "worker-1")).rejects.toThrow(
      /the outbox write failed/,
    );
    expect(await state(invoice.id, runId)).toEqual({
      invoice: { status: "PROCESSING", attempt_key: invoice.attemptKey, run_id: runId },
      paid: 0,
      events: [],
      attempts: 0,
    });

    // The verdict writer's own retry, as a worker makes it.
    const writer = new VerdictWriter(sql, runId, "worker-1", logger, 0);
    writer.add(paidVerdict(invoice));
    await writer.flush();
    expect(await state(invoice.id, runId)).toEqual({
      invoice: { status: "PAID", attempt_key: null, run_id: null },
      paid: 1,
      events: [
        {
          type: "dev.antaeus.invoice.paid",
          subject: `invoices/${invoice.id}`,
          // The invoice's 1234 minor units, as the exact decimal.
          amount: { currency: "EUR", value: "12.34" },
        },
      ],
      attempts: 1,
    });
  });
});
