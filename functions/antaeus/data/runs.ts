import { desc, eq } from "drizzle-orm";
import type { TransactionSql } from "postgres";
import type { Sql } from "../../runtime/index.js";
import { EVENT_TYPES, type RunCounters, runCompletedData } from "../domain/events.js";
import type { Period } from "../domain/period.js";
import { COMPLETED, RUNNING, type Trigger } from "../domain/run.js";
import { OUTCOME_COUNTERS, OUTCOMES, type Outcome, RETRIED_BY_NEXT_RUN } from "../domain/status.js";
import { createDb, type Db } from "./database.js";
import { billingRuns } from "./schema.js";

export type BillingRun = typeof billingRuns.$inferSelect;

/** The run's verdicts by outcome, as its JSON, its page and its refusal check read them. */
export const countsOf = (run: BillingRun): Record<Outcome, number> =>
  Object.fromEntries(OUTCOMES.map((outcome) => [outcome, run[outcome]])) as Record<Outcome, number>;

/** Invoices the run has reached a verdict on: the sum of its outcome counters. */
export const settledOf = (run: BillingRun): number =>
  OUTCOMES.reduce((sum, outcome) => sum + run[outcome], 0);

/** Invoices the run still has queued or in a worker's hands. */
export const remainingOf = (run: BillingRun): number => run.total - settledOf(run);

/**
 * What a run started (or joined) by `trigger` queues. The monthly schedule takes every unsettled
 * invoice of a due month, except a DECLINED one whose retry is not yet due: its schedule owns it.
 * A pay call bills the same, unless a person with the billing role asks to charge now: then it
 * takes those too (the attempt counts as their next retry). The watchdog takes only retries that
 * are due.
 */
function dueInvoices(tx: TransactionSql, trigger: Trigger, dueThrough: Period, now: Date) {
  const unsettled = tx`run_id is null and status in ${tx(RETRIED_BY_NEXT_RUN)}`;
  const instant = now.toISOString();
  if (trigger.kind === "retry")
    return tx`${unsettled} and next_retry_at <= ${instant}::timestamptz`;
  const notWaiting =
    trigger.kind === "api" && trigger.chargeNow
      ? tx``
      : tx`and (next_retry_at is null or next_retry_at <= ${instant}::timestamptz)`;
  return tx`${unsettled} and period <= ${dueThrough} ${notWaiting}`;
}

export interface StartedRun {
  run: BillingRun;
  /** False when this call joined a run already in progress (or already answered its event). */
  created: boolean;
}

/**
 * Starts a run, or joins the one in progress: at most one runs at a time (a unique index), and a
 * CloudEvent seen before maps to the run that answered it, so a redelivery never starts another.
 * A new run queues every due invoice that is not settled in the same transaction; a call that
 * joins adds what is due for it, not yet queued and not yet decided by this run (the monthly tick
 * may land during a run of retries). The watchdog's retry trigger starts nothing when no retry is due: null.
 *
 * With nothing due, a call starts nothing either: it joins the run in progress, or is answered
 * with the latest run (a pay route open to anyone must not grow the runs, their events and the
 * triggers by a row per call). Two exceptions, each at most once: the very first run, and the
 * month's first scheduled one, whose start the monthly alert watches. A scheduled event is
 * remembered (billing_triggers) only when it started a run or queued invoices into one.
 */
export async function startOrJoinRun(
  sql: Sql,
  trigger: Trigger,
  dueThrough: Period,
  now: Date,
): Promise<StartedRun | null> {
  for (;;) {
    const started = await sql.begin(async (tx) => {
      if (trigger.kind === "schedule") {
        const [seen] = await tx<[{ run_id: number }?]>`
          select run_id from billing_triggers where source = ${trigger.source} and event_id = ${trigger.eventId}`;
        if (seen) return { runId: seen.run_id, created: false };
      }
      const due = dueInvoices(tx, trigger, dueThrough, now);
      const [any] = await tx<[{ id: number }?]>`select id from invoices where ${due} limit 1`;
      if (!any) {
        if (trigger.kind === "retry") return null;
        const answer = await runWithNothingDue(tx, trigger, dueThrough);
        if (answer !== undefined) return { runId: answer, created: false };
      }
      const [inserted] = await tx<[{ id: number }?]>`
        insert into billing_runs (trigger, due_through)
        values (${trigger.kind}, ${dueThrough})
        on conflict do nothing
        returning id`;
      let runId: number;
      let queuedCount: number;
      if (inserted) {
        runId = inserted.id;
        const queued = await tx`update invoices set run_id = ${runId} where ${due}`;
        queuedCount = queued.count;
        await tx`update billing_runs set total = ${queued.count} where id = ${runId}`;
      } else {
        // Locks the running run's row: completeIfDone takes the same lock before it looks for
        // queued invoices, so a run never completes with invoices added here.
        const [running] = await tx<[{ id: number }?]>`
          update billing_runs set due_through = greatest(due_through, ${dueThrough})
          where status = ${RUNNING} returning id`;
        // The running run finished between our insert and this read: try again from the top.
        if (!running) return undefined;
        runId = running.id;
        // Only what this run has not decided yet: an invoice it declined, rejected or lost the
        // answer for is due again by the rule above, but is the next run's, not this one's again.
        const queued = await tx`
          update invoices set run_id = ${runId}
          where ${due} and not exists (
            select 1 from payment_attempts a where a.invoice_id = invoices.id and a.run_id = ${runId})`;
        queuedCount = queued.count;
        if (queued.count > 0) {
          await tx`update billing_runs set total = total + ${queued.count} where id = ${runId}`;
        }
      }
      if (trigger.kind === "schedule" && (inserted || queuedCount > 0)) {
        await tx`
          insert into billing_triggers (source, event_id, event_time, run_id)
          values (${trigger.source}, ${trigger.eventId}, ${trigger.eventTime?.toISOString() ?? null}, ${runId})
          on conflict do nothing`;
      }
      return { runId, created: Boolean(inserted) };
    });
    if (started === null) return null;
    if (!started) continue;
    const run = await findRun(createDb(sql), started.runId);
    if (!run) throw new Error(`billing run ${started.runId} vanished after it was started`);
    return { run, created: started.created };
  }
}

/**
 * The run that answers a call with nothing due: the one in progress, else the latest; undefined
 * where a run is to be started all the same (none yet, or the month's first scheduled tick).
 */
async function runWithNothingDue(
  tx: TransactionSql,
  trigger: Exclude<Trigger, { kind: "retry" }>,
  dueThrough: Period,
): Promise<number | undefined> {
  const [latest] = await tx<[{ id: number; status: string }?]>`
    select id, status from billing_runs order by (status = ${RUNNING}) desc, id desc limit 1`;
  if (!latest) return undefined;
  if (latest.status === RUNNING || trigger.kind === "api") return latest.id;
  const [monthly] = await tx<[{ id: number }?]>`
    select id from billing_runs where trigger = 'schedule' and due_through = ${dueThrough} limit 1`;
  return monthly ? latest.id : undefined;
}

/**
 * Marks the run COMPLETED once nothing is queued for it; true when it is (now or before). The
 * run's row is locked first and the queue read after, in a statement of its own: a caller joining
 * the run (startOrJoinRun) holds that lock while it queues, so its invoices are seen here.
 */
export async function completeIfDone(sql: Sql, runId: number): Promise<boolean> {
  return sql.begin(async (tx) => {
    const [run] = await tx<[{ status: string }?]>`
      select status from billing_runs where id = ${runId} for update`;
    if (run?.status !== RUNNING) return run?.status === COMPLETED;
    const [queue] = await tx<[{ queued: boolean }]>`
      select exists (select 1 from invoices where run_id = ${runId}) as queued`;
    if (queue.queued) return false;
    const [done] = await tx<[RunCounters]>`
      update billing_runs set status = ${COMPLETED}, finished_at = now() where id = ${runId}
      returning trigger, total, retries, recovered, ${tx(Object.values(OUTCOME_COUNTERS))}`;
    await tx`
      insert into billing_events (type, subject, data)
      values (${EVENT_TYPES.runCompleted}, ${`runs/${runId}`}, ${JSON.stringify(runCompletedData(runId, done))}::jsonb)`;
    return true;
  });
}

export async function findRun(db: Db, id: number): Promise<BillingRun | undefined> {
  const [run] = await db.select().from(billingRuns).where(eq(billingRuns.id, id));
  return run;
}

export async function findRunningRun(db: Db): Promise<BillingRun | undefined> {
  const [run] = await db.select().from(billingRuns).where(eq(billingRuns.status, RUNNING));
  return run;
}

export const listRuns = (db: Db, limit: number): Promise<BillingRun[]> =>
  db.select().from(billingRuns).orderBy(desc(billingRuns.id)).limit(limit);
