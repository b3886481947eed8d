import { CURRENCIES, type Currency, isCurrency } from "../../kernel/money.js";
import type { ChargeRequest } from "../domain/charge.js";
import { apiError, badRequest } from "../errors.js";
import { parseAmount } from "./amount.js";

import { MAX_ID } from "./schemas.js";

const missing = (field: string) => apiError("missing_field", `${field} is required`);
const invalid = (message: string) => apiError("invalid_field", message);

function parseId(body: Record<string, unknown>, field: string): number | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > MAX_ID) {
    throw invalid(`${field} must be an integer between 1 and ${MAX_ID}`);
  }
  return value;
}

/**
 * The original challenge's client serialises its Currency enum with org.json, which writes an
 * object without getters as `{}`: the currency is not stated. Only that exact shape means so;
 * anything else that is not a code is refused.
 */
function parseCurrency(value: unknown): Currency | null {
  if (isCurrency(value)) return value;
  if (typeof value === "object" && value !== null && !Array.isArray(value)) {
    if (Object.keys(value).length === 0) return null;
  }
  throw invalid(`currency must be one of ${CURRENCIES.join(", ")} (or {}: not stated)`);
}

/**
 * Validates a parsed JSON body. Only customer_id, currency and value are required, as the
 * original challenge's clients send; unknown fields are ignored.
 */
export function parseChargeRequest(body: unknown): ChargeRequest {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw badRequest("invalid_body", "the body must be a JSON object");
  }
  const fields = body as Record<string, unknown>;
  const customerId = parseId(fields, "customer_id");
  if (customerId === undefined) throw missing("customer_id");
  const invoiceId = parseId(fields, "invoice_id") ?? null;
  if (fields.currency === undefined || fields.currency === null) throw missing("currency");
  const currency = parseCurrency(fields.currency);
  if (fields.value === undefined || fields.value === null) throw missing("value");
  return {
    customerId,
    invoiceId,
    currency,
    amountMinor: parseAmount(fields.value),
  };
}
