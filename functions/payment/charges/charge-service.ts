import { randomUUID } from "node:crypto";
import { findChargeByKey } from "../data/charges.js";
import type { Db } from "../data/database.js";
import { LedgerWriter } from "../data/ledger-writer.js";
import { type ChargeRequest, type NewCharge, requestHash } from "../domain/charge.js";
import { type DeclineMix, outcomeOf } from "../domain/decline-mix.js";
import { apiError } from "../errors.js";
import type { Randomness } from "./randomness.js";

export interface ChargeAnswer {
  charge: NewCharge;
  /** True when the key had been charged before: the stored outcome, nothing charged now. */
  replayed: boolean;
}

// randomUUID draws from a pre-filled entropy pool: far cheaper per call than randomBytes.
const newChargeId = () => `ch_${randomUUID().replaceAll("-", "").slice(0, 24)}`;

/**
 * Charges at most once per idempotency key. The outcome is drawn before the insert and travels
 * in the row, so whichever request inserts first decides it for every request with that key.
 */
export function chargeService(deps: {
  db: Db;
  randomness: Randomness;
  successRate: number;
  declineMix: DeclineMix;
}) {
  const keyless = deps.randomness.stream("charge");
  const ledger = new LedgerWriter(deps.db);

  return async (request: ChargeRequest, key: string | null): Promise<ChargeAnswer> => {
    const draw = key === null ? keyless() : deps.randomness.forKey(key);
    const outcome = outcomeOf(draw, deps.successRate, deps.declineMix);
    const charge: NewCharge = {
      ...request,
      id: newChargeId(),
      idempotencyKey: key,
      requestHash: requestHash(request),
      status: outcome.succeeded ? "succeeded" : "declined",
      reason: outcome.succeeded ? null : outcome.reason,
    };
    const inserted = await ledger.insertOnce(charge);
    if (inserted) return { charge: inserted, replayed: false };
    if (key === null) throw new Error("a charge without a key was not inserted");
    const first = await findChargeByKey(deps.db, key);
    if (!first) throw new Error("idempotency key conflicted, yet no row holds it");
    if (first.requestHash !== charge.requestHash) {
      throw apiError(
        "idempotency_key_reused",
        "Idempotency-Key was already used for a different request",
      );
    }
    return { charge: first, replayed: true };
  };
}

export type ChargeService = ReturnType<typeof chargeService>;
