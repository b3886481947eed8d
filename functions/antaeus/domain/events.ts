import type { InvoiceStatus } from "./status.js";

/**
 * The CloudEvents Antaeus publishes (docs/events.md; their data's JSON schemas are in
 * docs/events/). Types are reverse-DNS under antaeus.dev, one per fact a consumer acts on.
 */
export const EVENT_TYPES = {
  paid: "dev.antaeus.invoice.paid",
  /** Every decline: with its reason, and whether a retry is scheduled. */
  paymentFailed: "dev.antaeus.invoice.payment_failed",
  needsPerson: "dev.antaeus.invoice.needs_person",
  runCompleted: "dev.antaeus.billing.run_completed",
} as const;

/** Verdicts that leave an invoice waiting for a person (docs/billing.md, "Outcomes"). */
export const NEEDS_PERSON = [
  "RETRIES_EXHAUSTED",
  "HARD_DECLINED",
  "OUTCOME_UNKNOWN",
  "CURRENCY_MISMATCH",
  "CUSTOMER_NOT_FOUND",
] as const satisfies readonly InvoiceStatus[];

/** A completed run's counters, as the row holds them. */
export interface RunCounters {
  trigger: string;
  total: number;
  paid: number;
  declined: number;
  retries_exhausted: number;
  hard_declined: number;
  rejected: number;
  network_error: number;
  outcome_unknown: number;
  currency_mismatch: number;
  customer_not_found: number;
  retries: number;
  recovered: number;
}

/** The run-completed event's data (docs/events/run_completed.schema.json). */
export const runCompletedData = (runId: number, run: RunCounters) => ({
  runId,
  trigger: run.trigger,
  total: run.total,
  counts: {
    PAID: run.paid,
    DECLINED: run.declined,
    RETRIES_EXHAUSTED: run.retries_exhausted,
    HARD_DECLINED: run.hard_declined,
    REJECTED: run.rejected,
    NETWORK_ERROR: run.network_error,
    OUTCOME_UNKNOWN: run.outcome_unknown,
    CURRENCY_MISMATCH: run.currency_mismatch,
    CUSTOMER_NOT_FOUND: run.customer_not_found,
  },
  retries: { done: run.retries, recovered: run.recovered },
});
