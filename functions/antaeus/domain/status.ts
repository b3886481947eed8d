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

/** A run's verdict on an invoice it claimed: every status but the two before and during a run. */
export type Outcome = Exclude<InvoiceStatus, "PENDING" | "PROCESSING">;
export const OUTCOMES = INVOICE_STATUSES.filter(
  (status): status is Outcome => status !== "PENDING" && status !== "PROCESSING",
);

/** Waiting for a person after declines: the retry schedule ended, or the decline was hard. */
export const DUNNING_ENDED = ["RETRIES_EXHAUSTED", "HARD_DECLINED"] as const;

/**
 * The next run charges these again: the provider said no (DECLINED), refused the request
 * (REJECTED) or never answered for sure (NETWORK_ERROR). A DECLINED invoice with a retry
 * scheduled waits for it (docs/billing.md). The mismatch and missing-customer
 * outcomes are data problems a person must fix; charging again would only repeat them.
 * OUTCOME_UNKNOWN waits for a person too: the provider ignores Idempotency-Key, so asking again
 * could charge twice.
 */
export const RETRIED_BY_NEXT_RUN = ["PENDING", "DECLINED", "REJECTED", "NETWORK_ERROR"] as const;
