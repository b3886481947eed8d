import { and, asc, eq, gt, type SQL } from "drizzle-orm";
import type { Invoice } from "../domain/invoice.js";
import type { InvoiceStatus } from "../domain/status.js";
import type { Db } from "./database.js";
import { invoices } from "./schema.js";

export interface InvoiceFilter {
  status?: InvoiceStatus;
  customerId?: number;
}

const columns = {
  id: invoices.id,
  customerId: invoices.customerId,
  amountMinor: invoices.amountMinor,
  currency: invoices.currency,
  status: invoices.status,
};

export async function findInvoice(db: Db, id: number): Promise<Invoice | undefined> {
  const [row] = await db.select(columns).from(invoices).where(eq(invoices.id, id));
  return row;
}

/** One page in id order, after `afterId`: keyset pagination keeps every page an index scan. */
export function invoicePage(
  db: Db,
  filter: InvoiceFilter,
  afterId: number,
  limit: number,
): Promise<Invoice[]> {
  const conditions: SQL[] = [gt(invoices.id, afterId)];
  if (filter.status) conditions.push(eq(invoices.status, filter.status));
  if (filter.customerId !== undefined) conditions.push(eq(invoices.customerId, filter.customerId));
  return db
    .select(columns)
    .from(invoices)
    .where(and(...conditions))
    .orderBy(asc(invoices.id))
    .limit(limit);
}
