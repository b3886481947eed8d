import { desc, eq } from "drizzle-orm";
import type { Sql } from "../../runtime/index.js";
import type { Period } from "../domain/period.js";
import { COMPLETED, RUNNING, type Trigger } from "../domain/run.js";
import { RETRIED_BY_NEXT_RUN } from "../domain/status.js";
import { createDb, type Db } from "./database.js";
import { billingRuns } from "./schema.js";

export type BillingRun = typeof billingRuns.$inferSelect;

export interface StartedRun {
  run: BillingRun;
  /** False when this call joined a run already in progress (or already answered its event). */
  created: boolean;
}

/**
 * Starts a run, or joins the one in progress: at most one runs at a time (a unique index), and a
 * CloudEvent seen before maps to the run that answered it, so a redelivery never starts another.
 * A new run queues every due invoice that is not settled in the same transaction.
 */
export async function startOrJoinRun(
  sql: Sql,
  trigger: Trigger,
  dueThrough: Period,
): Promise<StartedRun> {
  for (;;) {
    const started = await sql.begin(async (tx) => {
      if (trigger.kind === "schedule") {
        const [seen] = await tx<[{ run_id: number }?]>`
          select run_id from billing_triggers where source = ${trigger.source} and event_id = ${trigger.eventId}`;
        if (seen) return { runId: seen.run_id, created: false };
      }
      const [inserted] = await tx<[{ id: number }?]>`
        insert into billing_runs (trigger, due_through)
        values (${trigger.kind}, ${dueThrough})
        on conflict do nothing
        returning id`;
      let runId: number;
      if (inserted) {
        runId = inserted.id;
        const queued = await tx`
          update invoices set run_id = ${runId}
          where run_id is null and status in ${tx(RETRIED_BY_NEXT_RUN)} and period <= ${dueThrough}`;
        await tx`update billing_runs set total = ${queued.count} where id = ${runId}`;
      } else {
        const [running] = await tx<
          [{ id: number }?]
        >`select id from billing_runs where status = ${RUNNING}`;
        // The running run finished between our insert and this read: try again from the top.
        if (!running) return undefined;
        runId = running.id;
      }
      if (trigger.kind === "schedule") {
        await tx`
          insert into billing_triggers (source, event_id, event_time, run_id)
          values (${trigger.source}, ${trigger.eventId}, ${trigger.eventTime?.toISOString() ?? null}, ${runId})
          on conflict do nothing`;
      }
      return { runId, created: Boolean(inserted) };
    });
    if (!started) continue;
    const run = await findRun(createDb(sql), started.runId);
    if (!run) throw new Error(`billing run ${started.runId} vanished after it was started`);
    return { run, created: started.created };
  }
}

/** Marks the run COMPLETED once nothing is queued for it; true when it is (now or before). */
export async function completeIfDone(sql: Sql, runId: number): Promise<boolean> {
  const [row] = await sql<[{ status: string }]>`
    update billing_runs set status = ${COMPLETED}, finished_at = now()
    where id = ${runId} and status = ${RUNNING}
      and not exists (select 1 from invoices where run_id = ${runId})
    returning status`;
  if (row) return true;
  const [current] = await sql<
    [{ status: string }?]
  >`select status from billing_runs where id = ${runId}`;
  return current?.status === COMPLETED;
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
