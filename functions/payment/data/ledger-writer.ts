import type { NewCharge } from "../domain/charge.js";
import { insertChargesOnce } from "./charges.js";
import type { Db } from "./database.js";

interface Pending {
  charge: NewCharge;
  resolve: (row: NewCharge | undefined) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit for the ledger. Charges that arrive while a write is under way go into the next
 * multi-row INSERT together: one database round trip for a burst instead of one per charge, and
 * no added wait when traffic is light (a lone charge is written at once). Each caller still gets
 * its own answer: its charge as written, or undefined when its idempotency key was already taken.
 */
export class LedgerWriter {
  private readonly queue: Pending[] = [];
  private writing = 0;

  constructor(
    private readonly db: Db,
    private readonly maxBatch = 100,
    private readonly maxWrites = 8,
  ) {}

  insertOnce(charge: NewCharge): Promise<NewCharge | undefined> {
    return new Promise((resolve, reject) => {
      this.queue.push({ charge, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.writing < this.maxWrites && this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      this.writing++;
      insertChargesOnce(
        this.db,
        batch.map((pending) => pending.charge),
      )
        .then(
          (inserted) => {
            for (const pending of batch) {
              pending.resolve(inserted.has(pending.charge.id) ? pending.charge : undefined);
            }
          },
          (error: unknown) => {
            for (const pending of batch) pending.reject(error);
          },
        )
        .finally(() => {
          this.writing--;
          this.pump();
        });
    }
  }
}
