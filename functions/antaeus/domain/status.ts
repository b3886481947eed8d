/**
 * What clients read in an invoice's `status`. PENDING and PAID are the original's;
 * the rest are what billing can say about an attempt (docs/billing.md).
 */
export const INVOICE_STATUSES = ["PENDING", "PAID"] as const;
export type InvoiceStatus = (typeof INVOICE_STATUSES)[number];

export const isInvoiceStatus = (value: string): value is InvoiceStatus =>
  (INVOICE_STATUSES as readonly string[]).includes(value);
