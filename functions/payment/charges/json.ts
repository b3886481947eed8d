import type { Charge } from "../domain/charge.js";
import { amountNumber } from "./amount.js";

/** The answer to POST /v1/charges; built from the row alone, so a replay is byte-identical. */
export function chargeJson(charge: Omit<Charge, "createdAt">) {
  return {
    result: charge.status === "succeeded",
    ...(charge.reason ? { reason: charge.reason } : {}),
    charge_id: charge.id,
    status: charge.status,
    invoice_id: charge.invoiceId,
    customer_id: charge.customerId,
    currency: charge.currency,
    value: amountNumber(charge.amountMinor),
    idempotency_key: charge.idempotencyKey,
  };
}

/** An entry of GET /v1/charges: the same object plus when the ledger recorded it. */
export const chargeListJson = (charge: Charge) => ({
  ...chargeJson(charge),
  created_at: charge.createdAt.toISOString(),
});
