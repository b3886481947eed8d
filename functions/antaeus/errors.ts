import { errorCodes } from "../runtime/index.js";

/**
 * Antaeus's own error codes; with the runtime's, the closed set its clients can switch on (and
 * its OpenAPI document lists). A new code is one line here.
 */
export const { apiError, badRequest, errorContent, failWith, notFound } = errorCodes({
  invalid_cloudevent: 400,
  invalid_status: 400,
  invoice_not_waiting: 409,
  run_finished: 409,
});
