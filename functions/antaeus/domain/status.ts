/**
 * What clients read in an invoice's `status`. PENDING and PAID are the original's; the rest say
 * what billing found (docs/billing.md has the table of who acts on each).
 */
export const INVOICE_STATUSES = [
  "PENDING",
  "PROCESSING",
  "PAID",
  "DECLINED",
  "RETRIES_EXHAUSTED",
  "HARD_DECLINED",
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
/** Not yet charged, or set back by a person (which starts its dunning afresh). */
export const PENDING = "PENDING" satisfies InvoiceStatus;
export const PAID = "PAID" satisfies InvoiceStatus;
export const HARD_DECLINED = "HARD_DECLINED" satisfies InvoiceStatus;

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
  RETRIES_EXHAUSTED: "retries_exhausted",
  HARD_DECLINED: "hard_declined",
  REJECTED: "rejected",
  NETWORK_ERROR: "network_error",
  OUTCOME_UNKNOWN: "outcome_unknown",
  CURRENCY_MISMATCH: "currency_mismatch",
  CUSTOMER_NOT_FOUND: "customer_not_found",
} as const satisfies Record<Outcome, string>;

export const OUTCOMES = Object.keys(OUTCOME_COUNTERS) as Outcome[];

/** Waiting for a person after declines: the retry schedule ended, or the decline was hard. */
const DUNNING_ENDED = [
  "RETRIES_EXHAUSTED",
  HARD_DECLINED,
] as const satisfies readonly InvoiceStatus[];
/** Verdicts on a decline: a retry may be scheduled (DECLINED), or dunning has ended. */
export const DECLINES = ["DECLINED", ...DUNNING_ENDED] as const satisfies readonly InvoiceStatus[];

/**
 * The next run charges these again: the provider said no (DECLINED), refused the request
 * (REJECTED) or never answered for sure (NETWORK_ERROR). A DECLINED invoice with a retry
 * scheduled waits for it (docs/billing.md). The mismatch and missing-customer
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
