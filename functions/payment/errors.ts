import { errorCodes } from "../runtime/index.js";

/**
 * Payment's own error codes; with the runtime's, the closed set its clients can switch on (and
 * its OpenAPI document lists). A new code is one line here.
 */
export const { apiError, badRequest, errorContent, failWith } = errorCodes({
  invalid_field: 400,
  invalid_idempotency_key: 400,
  missing_field: 400,
  idempotency_key_reused: 422,
  // Above PAYMENT_RATE_LIMIT, as a real provider answers its merchants.
  rate_limited: 429,
});
