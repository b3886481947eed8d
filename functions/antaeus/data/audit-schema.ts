import { sql } from "drizzle-orm";
import { bigserial, check, index, integer, pgTable, text, timestamp } from "drizzle-orm/pg-core";

export const OPERATOR_ACTIONS = ["requeue_invoice", "cancel_run"] as const;
export type OperatorActionKind = (typeof OPERATOR_ACTIONS)[number];

/**
 * What people did by hand, with who and when: the audit trail of the operator actions. Never
 * updated or deleted; an action repeated with nothing left to do adds no row.
 */
export const operatorActions = pgTable(
  "operator_actions",
  {
    id: bigserial({ mode: "number" }).primaryKey(),
    action: text().$type<OperatorActionKind>().notNull(),
    invoiceId: integer("invoice_id"),
    runId: integer("run_id"),
    /** The verified caller (issuer prefix + token subject), or "anonymous" with auth off. */
    actor: text().notNull(),
    reason: text().notNull(),
    /** requeue_invoice: the status the invoice waited in. */
    previousStatus: text("previous_status"),
    /** cancel_run: how many queued invoices were taken out of the run. */
    invoicesUnqueued: integer("invoices_unqueued"),
    at: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    check(
      "operator_actions_action_check",
      sql`${table.action} in ('requeue_invoice', 'cancel_run')`,
    ),
    check(
      "operator_actions_target_check",
      sql`(${table.action} = 'requeue_invoice' and ${table.invoiceId} is not null) or (${table.action} = 'cancel_run' and ${table.runId} is not null)`,
    ),
    index("operator_actions_invoice_idx").on(table.invoiceId),
    index("operator_actions_run_idx").on(table.runId),
  ],
);
