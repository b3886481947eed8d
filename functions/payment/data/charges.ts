import { asc, eq } from "drizzle-orm";
import type { Charge, NewCharge } from "../domain/charge.js";
import type { Db } from "./database.js";
import { charges } from "./schema.js";

/**
 * Inserts each charge unless a row holds its idempotency key, and returns the ids inserted
 * (keyless charges always are). A concurrent insert of the same key waits for the first to
 * commit, so its caller then finds the first one's row; so does a repeat within one batch.
 * Written in postgres.js directly: the hot path of every charge, where building the statement
 * through the query builder cost more CPU than the insert itself.
 */
export async function insertChargesOnce(db: Db, batch: NewCharge[]): Promise<Set<string>> {
  const sql = db.$client;
  const rows = await sql<Array<{ id: string }>>`
    insert into payment.charges
      (id, idempotency_key, request_hash, invoice_id, customer_id, currency, amount_minor, status, reason)
    select * from unnest(
      ${sql.array(batch.map((c) => c.id))}::text[],
      ${sql.array(batch.map((c) => c.idempotencyKey ?? null))}::text[],
      ${sql.array(batch.map((c) => c.requestHash))}::text[],
      ${sql.array(batch.map((c) => c.invoiceId ?? null))}::int[],
      ${sql.array(batch.map((c) => c.customerId))}::int[],
      ${sql.array(batch.map((c) => c.currency))}::text[],
      ${sql.array(batch.map((c) => c.amountMinor.toString()))}::bigint[],
      ${sql.array(batch.map((c) => c.status))}::text[],
      ${sql.array(batch.map((c) => c.reason ?? null))}::text[]
    )
    on conflict (idempotency_key) do nothing
    returning id`;
  return new Set(rows.map((row) => row.id));
}

export async function findChargeByKey(db: Db, key: string): Promise<Charge | undefined> {
  const [row] = await db.select().from(charges).where(eq(charges.idempotencyKey, key));
  return row;
}

export type ChargeFilter = { idempotencyKey: string } | { invoiceId: number };

export function listCharges(db: Db, filter: ChargeFilter): Promise<Charge[]> {
  const where =
    "idempotencyKey" in filter
      ? eq(charges.idempotencyKey, filter.idempotencyKey)
      : eq(charges.invoiceId, filter.invoiceId);
  return db.select().from(charges).where(where).orderBy(asc(charges.createdAt), asc(charges.id));
}
