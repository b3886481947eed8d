import type { Fragment } from "postgres";
import type { Currency } from "../../kernel/money.js";
import type { Sql } from "../../runtime/index.js";
import type { ClaimedInvoice } from "../domain/claim.js";
import { CLAIMED, PENDING } from "../domain/status.js";

/** A claimed invoice as the claim statement returns it. */
export interface ClaimRow {
  id: number;
  customer_id: number;
  currency: Currency;
  amount_minor: string;
  attempt_key: string;
  attempts: number;
  reconciling: boolean;
  customer_currency: Currency | null;
  declines: number;
  dunning_since: string | null;
  next_retry_at: string | null;
}

/**
 * The claim, as the CTEs `picked` and `claimed` of a lane's statement (data/lanes.ts): up to
 * `limit` invoices of the run, queued ones and PROCESSING ones whose lease has expired (their
 * worker died or stalled), taken only while `when` holds (the lane is still its request's). SKIP
 * LOCKED lets lanes claim side by side without waiting on each other.
 */
export function claimCtes(
  sql: Sql,
  runId: number,
  limit: number,
  leaseMs: number,
  when: Fragment,
): Fragment {
  return sql`
    picked as (
      select id, attempt_key as previous_key from invoices
      where run_id = ${runId} and (status <> ${CLAIMED} or lease_expires_at < now()) and ${when}
      order by id
      limit ${limit}
      for update skip locked
    ), claimed as (
      update invoices i
      set status = ${CLAIMED},
          lease_expires_at = now() + ${leaseMs} * interval '1 millisecond',
          attempt_key = coalesce(i.attempt_key, gen_random_uuid()),
          -- A person who sets an invoice PENDING starts its dunning afresh.
          declines = case when i.status = ${PENDING} then 0 else i.declines end,
          dunning_since = case when i.status = ${PENDING} then null else i.dunning_since end,
          next_retry_at = case when i.status = ${PENDING} then null else i.next_retry_at end
      from picked
      where i.id = picked.id
      returning i.id, i.customer_id, i.currency, i.amount_minor, i.attempt_key, i.attempts,
                picked.previous_key is not null as reconciling,
                (select c.currency from customers c where c.id = i.customer_id) as customer_currency,
                i.declines, i.dunning_since, i.next_retry_at
    )`;
}

export function claimedInvoice(row: ClaimRow): ClaimedInvoice {
  return {
    id: row.id,
    customerId: row.customer_id,
    currency: row.currency,
    amountMinor: BigInt(row.amount_minor),
    attemptKey: row.attempt_key,
    attempts: row.attempts,
    reconciling: row.reconciling,
    customerCurrency: row.customer_currency,
    dunning: {
      declines: row.declines,
      since: instant(row.dunning_since),
      nextRetryAt: instant(row.next_retry_at),
    },
  };
}

// The update's CASE columns come back as text, not parsed like a plain timestamptz column.
const instant = (text: string | null) => (text === null ? null : new Date(text));
