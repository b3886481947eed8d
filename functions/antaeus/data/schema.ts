import { sql } from "drizzle-orm";
import { bigint, check, date, index, integer, pgTable, serial, text } from "drizzle-orm/pg-core";
import { CURRENCIES, type Currency } from "../domain/money.js";
import { INVOICE_STATUSES, type InvoiceStatus } from "../domain/status.js";

const oneOf = (column: string, values: readonly string[]) =>
  sql.raw(`${column} in (${values.map((value) => `'${value}'`).join(", ")})`);

export const customers = pgTable(
  "customers",
  {
    id: serial().primaryKey(),
    currency: text().$type<Currency>().notNull(),
  },
  () => [check("customers_currency_check", oneOf("currency", CURRENCIES))],
);

// No foreign key to customers on purpose: invoices can be imported ahead of (or without) their
// customer, and billing reports that as CUSTOMER_NOT_FOUND instead of refusing the row.
export const invoices = pgTable(
  "invoices",
  {
    id: serial().primaryKey(),
    customerId: integer("customer_id").notNull(),
    currency: text().$type<Currency>().notNull(),
    amountMinor: bigint("amount_minor", { mode: "bigint" }).notNull(),
    status: text().$type<InvoiceStatus>().notNull().default("PENDING"),
    /** First day of the month this invoice bills. */
    period: date({ mode: "string" }).notNull(),
  },
  (table) => [
    check("invoices_currency_check", oneOf("currency", CURRENCIES)),
    check("invoices_status_check", oneOf("status", INVOICE_STATUSES)),
    check("invoices_amount_positive", sql`${table.amountMinor} > 0`),
    check("invoices_period_first_of_month", sql`extract(day from ${table.period}) = 1`),
    index("invoices_customer_id_idx").on(table.customerId),
    index("invoices_status_idx").on(table.status),
  ],
);
