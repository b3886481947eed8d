import type { Sql } from "../../runtime/index.js";
import { type InvoiceStatus, WAITING_FOR_PERSON } from "../domain/status.js";

/** What an operator watches, read from the database so every replica reports the same truth. */
export interface BillingOverview {
  /** The run in progress (at most one), with how far it is. */
  running: { id: number; done: number; total: number } | undefined;
  /** When the latest run started by the monthly schedule began, in Unix seconds; 0 before the first. */
  lastScheduledStartSeconds: number;
  /** Invoices a person must settle, by status (every waiting status present, 0 when none). */
  waiting: Record<InvoiceStatus, number>;
  /**
   * The outbox's events the sink has not acknowledged, and when the oldest of them was written
   * (Unix seconds, 0 when none).
   */
  events: { pending: number; oldestPendingSeconds: number };
}

export async function billingOverview(sql: Sql): Promise<BillingOverview> {
  // Four small reads: the one-running-run index, billing_runs (one row a run), the status index
  // over the few waiting invoices, and the outbox's partial index over undelivered events.
  const [running] = await sql<[{ id: number; done: number; total: number }?]>`
    select id, total,
           paid + declined + rejected + network_error + outcome_unknown
             + currency_mismatch + customer_not_found as done
    from billing_runs where status = 'RUNNING'`;
  const [scheduled] = await sql<[{ started: number }]>`
    select coalesce(extract(epoch from max(started_at)), 0)::float8 as started
    from billing_runs where trigger = 'schedule'`;
  const rows = await sql<{ status: InvoiceStatus; count: number }[]>`
    select status, count(*)::int as count from invoices
    where status in ${sql(WAITING_FOR_PERSON)} group by status`;
  const waiting = Object.fromEntries(WAITING_FOR_PERSON.map((status) => [status, 0])) as Record<
    InvoiceStatus,
    number
  >;
  for (const row of rows) waiting[row.status] = row.count;
  const [events] = await sql<[{ pending: number; oldestPendingSeconds: number }]>`
    select count(*)::int as pending,
           coalesce(extract(epoch from min(time)), 0)::float8 as "oldestPendingSeconds"
    from billing_events where delivered_at is null`;
  return { running, lastScheduledStartSeconds: scheduled?.started ?? 0, waiting, events };
}

export interface WaitingInvoice {
  id: number;
  customerId: number;
  status: InvoiceStatus;
  attempts: number;
}

/**
 * The invoices a run left for a person, oldest first, at most `limit`. Read from the few waiting
 * invoices (status index) and each one's attempts (invoice index), never a scan of the trail.
 */
export const waitingInvoicesOfRun = (
  sql: Sql,
  runId: number,
  limit: number,
): Promise<WaitingInvoice[]> =>
  sql<WaitingInvoice[]>`
    select i.id, i.customer_id as "customerId", i.status, i.attempts from invoices i
    where i.status in ${sql(WAITING_FOR_PERSON)}
      and exists (select 1 from payment_attempts a where a.invoice_id = i.id and a.run_id = ${runId})
    order by i.id limit ${limit}`;
