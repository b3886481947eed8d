import { createHash } from "node:crypto";
import type { DeclineReason } from "../../kernel/decline-reasons.js";
import type { Currency } from "../../kernel/money.js";

export const CHARGE_STATUSES = ["succeeded", "declined"] as const;
export type ChargeStatus = (typeof CHARGE_STATUSES)[number];
export const DECLINED = "declined" satisfies ChargeStatus;

export { DECLINE_REASONS, type DeclineReason } from "../../kernel/decline-reasons.js";

/** One ledger row: a charge attempt and its outcome, decided once and never redrawn. */
export interface Charge {
  id: string;
  idempotencyKey: string | null;
  requestHash: string;
  invoiceId: number | null;
  customerId: number;
  /** null: not stated by the caller. */
  currency: Currency | null;
  amountMinor: bigint;
  status: ChargeStatus;
  reason: DeclineReason | null;
  createdAt: Date;
}

/** A ledger row before the database stamps its creation time. */
export type NewCharge = Omit<Charge, "createdAt">;

/** A charge request after validation: what the ledger records and idempotency compares. */
export interface ChargeRequest {
  customerId: number;
  invoiceId: number | null;
  /** null: the caller did not state one (the original challenge's client sends `{}`). */
  currency: Currency | null;
  amountMinor: bigint;
}

/**
 * What "the same body" means for idempotency: the normalised request, so 301.9, 301.90 and
 * "301.90" agree, and field order or unknown fields do not matter.
 */
export function requestHash(request: ChargeRequest): string {
  const canonical = JSON.stringify([
    "charge/v1",
    request.customerId,
    request.invoiceId,
    request.currency,
    request.amountMinor.toString(),
  ]);
  return createHash("sha256").update(canonical).digest("hex");
}
