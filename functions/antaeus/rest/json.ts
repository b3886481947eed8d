import { formatDecimal } from "../../kernel/money.js";
import type { Customer, Invoice } from "../domain/invoice.js";

/**
 * The original API's wire shape, written by hand so the amount goes out as the exact decimal
 * (`70.03`) rather than through a float. Every field is an integer or a closed-set string.
 */
export const invoiceJson = (invoice: Invoice): string =>
  `{"id":${invoice.id},"customerId":${invoice.customerId},"amount":{"value":${formatDecimal(invoice.amountMinor)},"currency":"${invoice.currency}"},"status":"${invoice.status}"}`;

export const customerJson = (customer: Customer): string =>
  `{"id":${customer.id},"currency":"${customer.currency}"}`;
