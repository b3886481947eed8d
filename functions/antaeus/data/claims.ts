import type { Fragment } from "postgres";
import type { Currency } from "../../kernel/money.js";
import type { Sql } from "../../runtime/index.js";
import type { AttemptRecord, Verdict } from "../domain/attempt.js";
import type { ClaimedInvoice } from "../domain/claim.js";
import { EVENT_TYPES } from "../domain/events.js";
import {
  CLAIMED,
  DECLINES,
  HARD_DECLINED,
  OUTCOME_COUNTERS,
  PAID,
  PENDING,
  WAITING_FOR_PERSON,
} from "../domain/status.js";

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

/**
 * Writes a batch of verdicts in one statement: invoice statuses (only where this worker still
 * holds the claim), the run's counters (only for what was applied), and every attempt row, signed
 * by the worker that made it. Returns how many verdicts took effect.
 */
export async function recordVerdicts(
  sql: Sql,
  runId: number,
  verdicts: Verdict[],
  worker: string,
): Promise<number> {
  if (verdicts.length === 0) return 0;
  const attempts = verdicts.flatMap((verdict) => verdict.attempts);
  const column = <T>(pick: (a: AttemptRecord) => T) => attempts.map(pick);
  const counters = Object.entries(OUTCOME_COUNTERS).map(
    ([status, name]) =>
      sql`${sql(name)} = ${sql(name)} + (select count(*) from applied where status = ${status})`,
  );
  const [result] = await sql<[{ applied: number }]>`
    with verdict as (
      select * from unnest(
        ${sql.array(verdicts.map((v) => v.invoiceId))}::int[],
        ${sql.array(verdicts.map((v) => v.attemptKey))}::uuid[],
        ${sql.array(verdicts.map((v) => v.status))}::text[],
        ${sql.array(verdicts.map((v) => v.keepKey))}::bool[],
        ${sql.array(verdicts.map((v) => v.calls))}::int[],
        ${sql.array(verdicts.map((v) => v.retry))}::int[],
        ${sql.array(verdicts.map((v) => v.dunning !== undefined))}::bool[],
        ${sql.array(verdicts.map((v) => v.dunning?.declines ?? 0))}::int[],
        ${sql.array(verdicts.map((v) => v.dunning?.since?.toISOString() ?? null))}::timestamptz[],
        ${sql.array(verdicts.map((v) => v.dunning?.nextRetryAt?.toISOString() ?? null))}::timestamptz[],
        ${sql.array(verdicts.map((v) => v.declineReason))}::text[]
      ) as v(id, key, status, keep_key, calls, retry, dunning, declines, since, next_retry_at, reason)
    ), held as materialized (
      -- Each verdict's invoice, found by its id and locked, applied only while this worker still
      -- holds its claim. The lookup by id alone (the limit keeps the claim's conditions out of
      -- it) is what keeps a batch's cost to its own size: PostgreSQL's statistics, taken between
      -- runs, say a run holds next to no invoices, and a plan built on that read every invoice
      -- the run had claimed once per verdict (test/billing/verdict-plan.test.ts).
      select verdict.* from verdict
      cross join lateral (
        select run_id, status, attempt_key from invoices where id = verdict.id limit 1 for update
      ) i
      where i.run_id = ${runId} and i.status = ${CLAIMED} and i.attempt_key = verdict.key
    ), applied as (
      -- The rows are locked above: they are as they were checked until this statement commits.
      update invoices i
      set status = verdict.status,
          attempt_key = case when verdict.keep_key then i.attempt_key end,
          attempts = i.attempts + verdict.calls,
          run_id = null,
          lease_expires_at = null,
          declines = case when verdict.dunning then verdict.declines else i.declines end,
          dunning_since = case when verdict.dunning then verdict.since else i.dunning_since end,
          next_retry_at = case when verdict.dunning then verdict.next_retry_at else i.next_retry_at end
      from held verdict
      where i.id = verdict.id
      returning i.id, i.status, i.customer_id, i.currency, i.amount_minor, i.period, i.next_retry_at,
                verdict.retry, verdict.reason
    ), events as (
      -- The transactional outbox (docs/events.md): what the verdicts that took effect mean to
      -- other services, committed with them or not at all.
      insert into billing_events (type, subject, data)
      select e.type, 'invoices/' || a.id,
             jsonb_build_object(
               'invoiceId', a.id, 'customerId', a.customer_id, 'runId', ${runId}::int,
               'amount', jsonb_build_object('currency', a.currency,
                                            'value', (a.amount_minor::numeric / 100)::numeric(20, 2)::text),
               'period', a.period::text, 'retry', a.retry) || e.data
      from applied a
      cross join lateral (values
        (${EVENT_TYPES.paid}, a.status = ${PAID}, '{}'::jsonb),
        (${EVENT_TYPES.paymentFailed}, a.status in ${sql(DECLINES)},
         jsonb_build_object('reason', a.reason, 'hard', a.status = ${HARD_DECLINED},
                            'retryScheduled', a.next_retry_at is not null,
                            'nextRetryAt', a.next_retry_at)),
        (${EVENT_TYPES.needsPerson}, a.status in ${sql(WAITING_FOR_PERSON)},
         jsonb_build_object('status', a.status, 'reason', a.reason))
      ) as e(type, wanted, data)
      where e.wanted
      returning 1
    ), counted as (
      update billing_runs set ${counters.reduce((all, next) => sql`${all}, ${next}`)},
        retries = retries + (select count(*) from applied where retry > 0),
        recovered = recovered + (select count(*) from applied where retry > 0 and status = ${PAID})
      where id = ${runId}
      returning id
    ), audit as (
      insert into payment_attempts
        (invoice_id, run_id, attempt_number, idempotency_key, outcome, http_status, latency_ms, charge_id, error, attempted_at, worker, retry, decline_reason)
      select a.invoice_id, ${runId}, a.attempt_number, a.idempotency_key, a.outcome, a.http_status,
             a.latency_ms, a.charge_id, a.error, a.attempted_at, ${worker}, a.retry, a.decline_reason
      from unnest(
        ${sql.array(column((a) => a.invoiceId))}::int[],
        ${sql.array(column((a) => a.attemptNumber))}::int[],
        ${sql.array(column((a) => a.idempotencyKey))}::uuid[],
        ${sql.array(column((a) => a.outcome))}::text[],
        ${sql.array(column((a) => a.httpStatus))}::int[],
        ${sql.array(column((a) => a.latencyMs))}::int[],
        ${sql.array(column((a) => a.chargeId))}::text[],
        ${sql.array(column((a) => a.error))}::text[],
        ${sql.array(column((a) => a.attemptedAt.toISOString()))}::timestamptz[],
        ${sql.array(column((a) => a.retry))}::int[],
        ${sql.array(column((a) => a.declineReason))}::text[]
      ) as a(invoice_id, attempt_number, idempotency_key, outcome, http_status, latency_ms, charge_id, error, attempted_at, retry, decline_reason)
      returning 1
    )
    select (select count(*) from applied)::int as applied`;
  return result.applied;
}
