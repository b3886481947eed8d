import type { Context } from "hono";
import { badRequest } from "../../runtime/index.js";
import type { InvoiceFilter } from "../data/invoices.js";
import { INVOICE_STATUSES, isInvoiceStatus } from "../domain/status.js";
import { parseId } from "./ids.js";

/** A query parameter given at most once; repeating a filter is ambiguous, so it is refused. */
function single(c: Context, name: string): string | undefined {
  const values = c.req.queries(name);
  if (!values) return undefined;
  if (values.length > 1) throw badRequest("invalid_query", `give ${name} at most once`);
  return values[0];
}

export function invoiceFilter(c: Context): InvoiceFilter {
  const filter: InvoiceFilter = {};
  const status = single(c, "status");
  if (status !== undefined) {
    if (!isInvoiceStatus(status)) {
      throw badRequest(
        "invalid_status",
        `status must be one of ${INVOICE_STATUSES.join(", ")}, got "${status.slice(0, 40)}"`,
      );
    }
    filter.status = status;
  }
  const customerId = single(c, "customerId");
  if (customerId !== undefined) filter.customerId = parseId(customerId, "customerId");
  return filter;
}
