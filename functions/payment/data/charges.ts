import { asc, eq } from "drizzle-orm";
import type { Charge } from "../charges/charge.js";
import type { Db } from "./database.js";
import { charges } from "./schema.js";

export type NewCharge = Omit<Charge, "createdAt">;

export async function insertCharge(db: Db, charge: NewCharge): Promise<Charge> {
  const [row] = await db.insert(charges).values(charge).returning();
  if (!row) throw new Error("insert returned no row");
  return row;
}

/**
 * Inserts unless a row holds the same idempotency key; undefined when one does. A concurrent
 * insert of the same key waits for the first to commit, so the caller then finds its row.
 */
export async function insertChargeOnce(db: Db, charge: NewCharge): Promise<Charge | undefined> {
  const [row] = await db
    .insert(charges)
    .values(charge)
    .onConflictDoNothing({ target: charges.idempotencyKey })
    .returning();
  return row;
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
