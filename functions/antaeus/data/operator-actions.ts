import type { Sql } from "../../runtime/index.js";
import { type InvoiceStatus, PENDING, WAITING_FOR_PERSON } from "../domain/status.js";

export interface OperatorAction {
  id: number;
  action: "requeue_invoice" | "cancel_run";
  invoiceId: number | null;
  runId: number | null;
  actor: string;
  reason: string;
  previousStatus: string | null;
  invoicesUnqueued: number | null;
  at: Date;
}

const COLUMNS = `id::int as id, action, invoice_id as "invoiceId", run_id as "runId", actor,
  reason, previous_status as "previousStatus", invoices_unqueued as "invoicesUnqueued", at`;

/** What an operator action came to: done now, done before (nothing left to do), or refused. */
export type ActionResult =
  | { kind: "done" | "already"; action: OperatorAction }
  | { kind: "conflict"; code: "invoice_not_waiting" | "run_finished"; message: string }
  | { kind: "not_found" };

/**
 * Puts an invoice that waits for a person back to PENDING, so the next run charges it (a declined
 * one starts its retry schedule afresh: the person has had the customer fix the card), and
 * records who and why in the same transaction. OUTCOME_UNKNOWN's kept key is dropped: the person
 * has checked with the provider that nothing was charged. Asked again once it is PENDING after a
 * requeue, it changes nothing and answers with that requeue.
 */
export async function requeueInvoice(
  sql: Sql,
  invoiceId: number,
  actor: string,
  reason: string,
): Promise<ActionResult> {
  return sql.begin(async (tx) => {
    const [invoice] = await tx<[{ status: InvoiceStatus; run_id: number | null }?]>`
      select status, run_id from invoices where id = ${invoiceId} for update`;
    if (!invoice) return { kind: "not_found" } as const;
    if (!(WAITING_FOR_PERSON as readonly string[]).includes(invoice.status)) {
      const [last] = await tx<[OperatorAction?]>`
        select ${tx.unsafe(COLUMNS)} from operator_actions
        where action = 'requeue_invoice' and invoice_id = ${invoiceId}
        order by id desc limit 1`;
      if (last && invoice.status === "PENDING") return { kind: "already", action: last } as const;
      return {
        kind: "conflict",
        code: "invoice_not_waiting",
        message: `invoice ${invoiceId} is ${invoice.status}; only ${WAITING_FOR_PERSON.join(", ")} can be requeued`,
      } as const;
    }
    await tx`
      update invoices set status = ${PENDING}, attempt_key = null, lease_expires_at = null,
        declines = 0, dunning_since = null, next_retry_at = null
      where id = ${invoiceId}`;
    const [action] = await tx<[OperatorAction]>`
      insert into operator_actions (action, invoice_id, actor, reason, previous_status)
      values ('requeue_invoice', ${invoiceId}, ${actor}, ${reason}, ${invoice.status})
      returning ${tx.unsafe(COLUMNS)}`;
    return { kind: "done", action } as const;
  });
}

/**
 * Stops a run from charging anything more: the invoices it has queued but not claimed leave it
 * (keeping their status, so the next run takes them), its total shrinks by as many, and the
 * charges already in flight finish and are recorded, after which the run completes as usual.
 * A second cancel finds nothing queued and answers with the first.
 */
export async function cancelRun(
  sql: Sql,
  runId: number,
  actor: string,
  reason: string,
): Promise<ActionResult> {
  return sql.begin(async (tx) => {
    const [run] = await tx<[{ status: string }?]>`
      select status from billing_runs where id = ${runId} for update`;
    if (!run) return { kind: "not_found" } as const;
    const [earlier] = await tx<[OperatorAction?]>`
      select ${tx.unsafe(COLUMNS)} from operator_actions
      where action = 'cancel_run' and run_id = ${runId} order by id limit 1`;
    if (earlier) return { kind: "already", action: earlier } as const;
    if (run.status !== "RUNNING") {
      const message = `billing run ${runId} has already completed`;
      return { kind: "conflict", code: "run_finished", message } as const;
    }
    const unqueued = await tx`
      update invoices set run_id = null
      where run_id = ${runId} and status <> 'PROCESSING'`;
    await tx`update billing_runs set total = total - ${unqueued.count} where id = ${runId}`;
    const [action] = await tx<[OperatorAction]>`
      insert into operator_actions (action, run_id, actor, reason, invoices_unqueued)
      values ('cancel_run', ${runId}, ${actor}, ${reason}, ${unqueued.count})
      returning ${tx.unsafe(COLUMNS)}`;
    return { kind: "done", action } as const;
  });
}

export const actionsOnInvoice = (sql: Sql, invoiceId: number) =>
  sql<OperatorAction[]>`
    select ${sql.unsafe(COLUMNS)} from operator_actions where invoice_id = ${invoiceId} order by id`;

export const actionsOnRun = (sql: Sql, runId: number) =>
  sql<OperatorAction[]>`
    select ${sql.unsafe(COLUMNS)} from operator_actions where run_id = ${runId} order by id`;
