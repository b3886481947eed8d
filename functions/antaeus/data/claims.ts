import type { Currency } from "../../kernel/money.js";
import type { Sql } from "../../runtime/index.js";
import type { AttemptRecord, Verdict } from "../domain/attempt.js";
import type { ClaimedInvoice } from "../domain/claim.js";
import { CLAIMED, OUTCOME_COUNTERS } from "../domain/status.js";

/**
 * Takes up to `limit` invoices of the run for this worker: queued ones, and PROCESSING ones whose
 * lease has expired (their worker died or stalled). SKIP LOCKED lets replicas claim side by side
 * without waiting on each other; one round trip per batch.
 */
export async function claimInvoices(
  sql: Sql,
  runId: number,
  limit: number,
  leaseMs: number,
): Promise<ClaimedInvoice[]> {
  const rows = await sql<
    Array<{
      id: number;
      customer_id: number;
      currency: Currency;
      amount_minor: string;
      attempt_key: string;
      attempts: number;
      reconciling: boolean;
      customer_currency: Currency | null;
    }>
  >`
    with picked as (
      select id, attempt_key as previous_key from invoices
      where run_id = ${runId} and (status <> ${CLAIMED} or lease_expires_at < now())
      order by id
      limit ${limit}
      for update skip locked
    )
    update invoices i
    set status = ${CLAIMED},
        lease_expires_at = now() + ${leaseMs} * interval '1 millisecond',
        attempt_key = coalesce(i.attempt_key, gen_random_uuid())
    from picked
    where i.id = picked.id
    returning i.id, i.customer_id, i.currency, i.amount_minor, i.attempt_key, i.attempts,
              picked.previous_key is not null as reconciling,
              (select c.currency from customers c where c.id = i.customer_id) as customer_currency`;
  return rows.map((row) => ({
    id: row.id,
    customerId: row.customer_id,
    currency: row.currency,
    amountMinor: BigInt(row.amount_minor),
    attemptKey: row.attempt_key,
    attempts: row.attempts,
    reconciling: row.reconciling,
    customerCurrency: row.customer_currency,
  }));
}

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
        ${sql.array(verdicts.map((v) => v.calls))}::int[]
      ) as v(id, key, status, keep_key, calls)
    ), applied as (
      update invoices i
      set status = verdict.status,
          attempt_key = case when verdict.keep_key then i.attempt_key end,
          attempts = i.attempts + verdict.calls,
          run_id = null,
          lease_expires_at = null
      from verdict
      where i.id = verdict.id and i.run_id = ${runId}
        and i.status = ${CLAIMED} and i.attempt_key = verdict.key
      returning i.status
    ), counted as (
      update billing_runs set ${counters.reduce((all, next) => sql`${all}, ${next}`)}
      where id = ${runId}
      returning id
    ), audit as (
      insert into payment_attempts
        (invoice_id, run_id, attempt_number, idempotency_key, outcome, http_status, latency_ms, charge_id, error, attempted_at, worker)
      select a.invoice_id, ${runId}, a.attempt_number, a.idempotency_key, a.outcome, a.http_status,
             a.latency_ms, a.charge_id, a.error, a.attempted_at, ${worker}
      from unnest(
        ${sql.array(column((a) => a.invoiceId))}::int[],
        ${sql.array(column((a) => a.attemptNumber))}::int[],
        ${sql.array(column((a) => a.idempotencyKey))}::uuid[],
        ${sql.array(column((a) => a.outcome))}::text[],
        ${sql.array(column((a) => a.httpStatus))}::int[],
        ${sql.array(column((a) => a.latencyMs))}::int[],
        ${sql.array(column((a) => a.chargeId))}::text[],
        ${sql.array(column((a) => a.error))}::text[],
        ${sql.array(column((a) => a.attemptedAt.toISOString()))}::timestamptz[]
      ) as a(invoice_id, attempt_number, idempotency_key, outcome, http_status, latency_ms, charge_id, error, attempted_at)
      returning 1
    )
    select (select count(*) from applied)::int as applied`;
  return result.applied;
}
