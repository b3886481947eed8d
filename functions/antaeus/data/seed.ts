import { sql } from "drizzle-orm";
import { CURRENCIES } from "../../kernel/money.js";
import type { Logger } from "../../runtime/index.js";
import { addMonths, type Period, periodOf } from "../domain/period.js";
import type { Db } from "./database.js";
import { customers, invoices } from "./schema.js";

export interface SeedOptions {
  seed: number;
  customers: number;
  invoicesPerCustomer: number;
  /**
   * The month the newest invoice of each customer bills; older ones go back a month each. Unset:
   * the current month, reckoned only when there is something to seed (the time zone's first use
   * costs about 10 ms, which every start would otherwise pay).
   */
  lastPeriod?: Period | undefined;
}

const CHUNK = 5_000;
const MIN_AMOUNT = 10_00;
const MAX_AMOUNT = 500_00;

/**
 * Writes the original challenge's data set, reproducibly from `seed`, into an empty database and
 * never into one that holds data. Every invoice starts PENDING and due, so one billing run at a
 * 50% success rate leaves about half of them PAID — the judged deployment check.
 */
export async function seedIfEmpty(db: Db, options: SeedOptions, logger: Logger): Promise<boolean> {
  const seeded = await db.transaction(async (tx) => {
    // Instances starting together take turns; the second finds the first one's rows.
    await tx.execute(sql`select pg_advisory_xact_lock(hashtext('antaeus.seed'))`);
    const [state] = await tx.execute<{ empty: boolean }>(
      sql`select not exists (select 1 from customers) and not exists (select 1 from invoices) as empty`,
    );
    if (!state?.empty) return false;

    const lastPeriod = options.lastPeriod ?? periodOf(new Date());
    const random = mulberry32(options.seed);
    const customerRows = Array.from({ length: options.customers }, () => ({
      currency: CURRENCIES[Math.floor(random() * CURRENCIES.length)] ?? "EUR",
    }));
    const created: Array<{ id: number; currency: (typeof CURRENCIES)[number] }> = [];
    for (let i = 0; i < customerRows.length; i += CHUNK) {
      created.push(
        ...(await tx
          .insert(customers)
          .values(customerRows.slice(i, i + CHUNK))
          .returning({ id: customers.id, currency: customers.currency })),
      );
    }
    let batch: Array<typeof invoices.$inferInsert> = [];
    for (const customer of created) {
      for (let n = 0; n < options.invoicesPerCustomer; n++) {
        const span = MAX_AMOUNT - MIN_AMOUNT + 1;
        batch.push({
          customerId: customer.id,
          currency: customer.currency,
          amountMinor: BigInt(MIN_AMOUNT + Math.floor(random() * span)),
          status: "PENDING",
          period: addMonths(lastPeriod, n - options.invoicesPerCustomer + 1),
        });
        if (batch.length === CHUNK) {
          await tx.insert(invoices).values(batch);
          batch = [];
        }
      }
    }
    if (batch.length > 0) await tx.insert(invoices).values(batch);
    return true;
  });
  logger.info(
    seeded
      ? {
          customers: options.customers,
          invoicesPerCustomer: options.invoicesPerCustomer,
          seed: options.seed,
        }
      : {},
    seeded ? "seeded an empty database" : "database holds data: not seeding",
  );
  return seeded;
}

/** A small, well-known seeded PRNG: the same seed gives the same data on every machine. */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
