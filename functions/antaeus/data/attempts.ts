import { asc, eq } from "drizzle-orm";
import type { Db } from "./database.js";
import { paymentAttempts } from "./schema.js";

export type PaymentAttempt = typeof paymentAttempts.$inferSelect;

export const attemptsOf = (db: Db, invoiceId: number): Promise<PaymentAttempt[]> =>
  db
    .select()
    .from(paymentAttempts)
    .where(eq(paymentAttempts.invoiceId, invoiceId))
    .orderBy(asc(paymentAttempts.id));
