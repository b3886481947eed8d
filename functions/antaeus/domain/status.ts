/**
 * What clients read in an invoice's `status`. PENDING and PAID are the original's; the rest say
 * what billing found (docs/billing.md has the table of who acts on each).
 */
export const INVOICE_STATUSES = [
  "PENDING",
  "PROCESSING",
  "PAID",
  "DECLINED",
  "REJECTED",
  "NETWORK_ERROR",
  "OUTCOME_UNKNOWN",
  "CURRENCY_MISMATCH",
  "CUSTOMER_NOT_FOUND",
] as const;
export type InvoiceStatus = (typeof INVOICE_STATUSES)[number];

export const isInvoiceStatus = (value: string): value is InvoiceStatus =>
  (INVOICE_STATUSES as readonly string[]).includes(value);

/** A claimed invoice's status while a worker holds it; SQL compares against this constant. */
export const CLAIMED = "PROCESSING" satisfies InvoiceStatus;

/** A run's verdict on an invoice it claimed: every status but the two before and during a run. */
export type Outcome = Exclude<InvoiceStatus, "PENDING" | "PROCESSING">;

/**
 * The one outcome table: each outcome and the billing_runs column that counts it. The schema
 * builds its counter columns from it, the verdict SQL increments them by it, and a run's JSON
 * reads its `counts` through it, so a new outcome is one line here (and its migration).
 */
export const OUTCOME_COUNTERS = {
  PAID: "paid",
  DECLINED: "declined",
  REJECTED: "rejected",
  NETWORK_ERROR: "network_error",
  OUTCOME_UNKNOWN: "outcome_unknown",
  CURRENCY_MISMATCH: "currency_mismatch",
  CUSTOMER_NOT_FOUND: "customer_not_found",
} as const satisfies Record<Outcome, string>;

export const OUTCOMES = Object.keys(OUTCOME_COUNTERS) as Outcome[];

/**
 * The next run charges these again: the provider said no (DECLINED), refused the request
 * (REJECTED) or never answered for sure (NETWORK_ERROR). The mismatch and missing-customer
 * outcomes are data problems a person must fix; charging again would only repeat them.
 * OUTCOME_UNKNOWN waits for a person too: the provider ignores Idempotency-Key, so asking again
 * could charge twice.
 */
export const RETRIED_BY_NEXT_RUN = [
  "PENDING",
  "DECLINED",
  "REJECTED",
  "NETWORK_ERROR",
] as const satisfies readonly InvoiceStatus[];

/**
 * What a person must settle: every verdict the next run does not charge again, except PAID.
 * The run page lists these invoices and an alert counts them.
 */
export const WAITING_FOR_PERSON = OUTCOMES.filter(
  (status) => status !== "PAID" && !(RETRIED_BY_NEXT_RUN as readonly string[]).includes(status),
);
