import { badRequest } from "../../runtime/index.js";
import type { ChargeFilter } from "../data/charges.js";
import { parseIdempotencyKey } from "./idempotency-key.js";

const MAX_ID = 2_147_483_647;

/** A query parameter given at most once; repeating it is ambiguous, so it is refused. */
function single(values: string[] | undefined, name: string): string | undefined {
  if (values && values.length > 1) throw badRequest("invalid_query", `give ${name} at most once`);
  return values?.[0];
}

/** GET /v1/charges asks by exactly one of idempotency_key or invoice_id. */
export function ledgerQuery(query: Record<string, string[]>): ChargeFilter {
  const key = single(query.idempotency_key, "idempotency_key");
  const invoiceId = single(query.invoice_id, "invoice_id");
  if ((key === undefined) === (invoiceId === undefined)) {
    throw badRequest("invalid_query", "give exactly one of idempotency_key or invoice_id");
  }
  if (key !== undefined) return { idempotencyKey: parseIdempotencyKey(key, "idempotency_key") };
  const id = Number(invoiceId);
  if (!/^\d{1,10}$/.test(invoiceId ?? "") || id < 1 || id > MAX_ID) {
    throw badRequest("invalid_query", `invoice_id must be an integer between 1 and ${MAX_ID}`);
  }
  return { invoiceId: id };
}
