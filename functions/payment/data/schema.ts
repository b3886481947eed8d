import { sql } from "drizzle-orm";
import {
  bigint,
  check,
  index,
  integer,
  pgSchema,
  text,
  timestamp,
  uniqueIndex,
} from "drizzle-orm/pg-core";
import { CURRENCIES, type Currency } from "../../kernel/money.js";
import {
  CHARGE_STATUSES,
  type ChargeStatus,
  DECLINE_REASONS,
  DECLINED,
  type DeclineReason,
} from "../domain/charge.js";

const oneOf = (column: string, values: readonly string[]) =>
  sql.raw(`${column} in (${values.map((value) => `'${value}'`).join(", ")})`);

/** Its own schema, so the ledger can share a local server with Antaeus without touching it. */
export const payment = pgSchema("payment");

/** The ledger: every charge and decline, written once with its outcome already drawn. */
export const charges = payment.table(
  "charges",
  {
    id: text().primaryKey(),
    // Unique, so concurrent requests with one key race on the index and exactly one row wins;
    // NULLs never conflict, so calls without a key are each a new charge.
    idempotencyKey: text("idempotency_key"),
    requestHash: text("request_hash").notNull(),
    invoiceId: integer("invoice_id"),
    customerId: integer("customer_id").notNull(),
    // NULL: the caller did not state one (the original challenge's `"currency":{}`).
    currency: text().$type<Currency>(),
    amountMinor: bigint("amount_minor", { mode: "bigint" }).notNull(),
    status: text().$type<ChargeStatus>().notNull(),
    reason: text().$type<DeclineReason>(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    uniqueIndex("charges_idempotency_key_key").on(table.idempotencyKey),
    index("charges_invoice_id_idx").on(table.invoiceId),
    check("charges_currency_check", oneOf("currency", CURRENCIES)),
    check("charges_status_check", oneOf("status", CHARGE_STATUSES)),
    check("charges_reason_check", oneOf("reason", DECLINE_REASONS)),
    check(
      "charges_declined_has_reason",
      sql`(status = ${sql.raw(`'${DECLINED}'`)}) = (reason is not null)`,
    ),
    check("charges_amount_positive", sql`${table.amountMinor} > 0`),
  ],
);
