import { formatDecimal } from "../../kernel/money.js";
import type { Sql } from "../../runtime/index.js";
import type { AttemptRecord, Verdict } from "../domain/attempt.js";
import { CLAIMED, OUTCOME_COUNTERS, PAID } from "../domain/status.js";
import { outboxCte } from "./outbox.js";

/**
 * A batch of verdicts as the columns the statement unnests, in its order. A verdict that leaves
 * the dunning state as it was (`dunning` undefined) says so in `dunning`; its other dunning
 * columns are then ignored. The amount is written here, once, as every event carries it.
 */
export function verdictColumns(verdicts: Verdict[]) {
  return {
    id: verdicts.map((v) => v.invoiceId),
    key: verdicts.map((v) => v.attemptKey),
    status: verdicts.map((v) => v.status),
    keepKey: verdicts.map((v) => v.keepKey),
    calls: verdicts.map((v) => v.calls),
    retry: verdicts.map((v) => v.retry),
    dunning: verdicts.map((v) => v.dunning !== undefined),
    declines: verdicts.map((v) => v.dunning?.declines ?? 0),
    since: verdicts.map((v) => v.dunning?.since?.toISOString() ?? null),
    nextRetryAt: verdicts.map((v) => v.dunning?.nextRetryAt?.toISOString() ?? null),
    reason: verdicts.map((v) => v.declineReason),
    amount: verdicts.map((v) => formatDecimal(v.amountMinor)),
  };
}

/** Every attempt of a batch as the columns the attempts' insert unnests, in its order. */
export function attemptColumns(attempts: AttemptRecord[]) {
  return {
    invoiceId: attempts.map((a) => a.invoiceId),
    attemptNumber: attempts.map((a) => a.attemptNumber),
    idempotencyKey: attempts.map((a) => a.idempotencyKey),
    outcome: attempts.map((a) => a.outcome),
    httpStatus: attempts.map((a) => a.httpStatus),
    latencyMs: attempts.map((a) => a.latencyMs),
    chargeId: attempts.map((a) => a.chargeId),
    error: attempts.map((a) => a.error),
    attemptedAt: attempts.map((a) => a.attemptedAt.toISOString()),
    retry: attempts.map((a) => a.retry),
    declineReason: attempts.map((a) => a.declineReason),
  };
}

/**
 * Writes a batch of verdicts in one statement: invoice statuses (only where this worker still
 * holds the claim), their events in the outbox (outbox.ts), the run's counters (only for what
 * was applied), and every attempt row, signed by the worker that made it. Returns how many
 * verdicts took effect.
 */
export async function recordVerdicts(
  sql: Sql,
  runId: number,
  verdicts: Verdict[],
  worker: string,
): Promise<number> {
  if (verdicts.length === 0) return 0;
  const v = verdictColumns(verdicts);
  const a = attemptColumns(verdicts.flatMap((verdict) => verdict.attempts));
  const counters = Object.entries(OUTCOME_COUNTERS).map(
    ([outcome, name]) =>
      sql`${sql(name)} = ${sql(name)} + (select count(*) from applied where status = ${outcome})`,
  );
  const [result] = await sql<[{ applied: number }]>`
    with verdict as (
      select * from unnest(
        ${sql.array(v.id)}::int[],
        ${sql.array(v.key)}::uuid[],
        ${sql.array(v.status)}::text[],
        ${sql.array(v.keepKey)}::bool[],
        ${sql.array(v.calls)}::int[],
        ${sql.array(v.retry)}::int[],
        ${sql.array(v.dunning)}::bool[],
        ${sql.array(v.declines)}::int[],
        ${sql.array(v.since)}::timestamptz[],
        ${sql.array(v.nextRetryAt)}::timestamptz[],
        ${sql.array(v.reason)}::text[],
        ${sql.array(v.amount)}::text[]
      ) as v(id, key, status, keep_key, calls, retry, dunning, declines, since, next_retry_at, reason, amount)
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
      returning i.id, i.status, i.customer_id, i.currency, i.period, i.next_retry_at,
                verdict.retry, verdict.reason, verdict.amount
    ), ${outboxCte(sql, runId)}, counted as (
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
        ${sql.array(a.invoiceId)}::int[],
        ${sql.array(a.attemptNumber)}::int[],
        ${sql.array(a.idempotencyKey)}::uuid[],
        ${sql.array(a.outcome)}::text[],
        ${sql.array(a.httpStatus)}::int[],
        ${sql.array(a.latencyMs)}::int[],
        ${sql.array(a.chargeId)}::text[],
        ${sql.array(a.error)}::text[],
        ${sql.array(a.attemptedAt)}::timestamptz[],
        ${sql.array(a.retry)}::int[],
        ${sql.array(a.declineReason)}::text[]
      ) as a(invoice_id, attempt_number, idempotency_key, outcome, http_status, latency_ms, charge_id, error, attempted_at, retry, decline_reason)
      returning 1
    )
    select (select count(*) from applied)::int as applied`;
  return result.applied;
}
