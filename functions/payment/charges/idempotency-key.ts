import { badRequest } from "../errors.js";

/** Printable ASCII (space included), 1 to 255 characters: fits an index and any log line. */
export const IDEMPOTENCY_KEY = /^[\x20-\x7e]{1,255}$/;

/** A header or query value that must be an idempotency key; `name` is what the caller set. */
export function parseIdempotencyKey(raw: string, name: string): string {
  if (!IDEMPOTENCY_KEY.test(raw)) {
    throw badRequest(
      "invalid_idempotency_key",
      `${name} must be 1 to 255 printable ASCII characters`,
    );
  }
  return raw;
}
