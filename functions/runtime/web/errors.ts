import type { Context, ErrorHandler, NotFoundHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { Logger } from "../process/logger.js";

/**
 * Every error code either function answers with, and its status: the closed set clients can
 * switch on. A new code is one line here; a code not listed does not compile.
 */
export const ERROR_STATUS = {
  bad_request: 400,
  incomplete_body: 400,
  invalid_body: 400,
  invalid_cloudevent: 400,
  invalid_field: 400,
  invalid_id: 400,
  invalid_idempotency_key: 400,
  invalid_json: 400,
  invalid_query: 400,
  invalid_status: 400,
  missing_field: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  request_timeout: 408,
  invoice_not_waiting: 409,
  run_finished: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  expectation_failed: 417,
  idempotency_key_reused: 422,
  rate_limited: 429,
  headers_too_large: 431,
  internal_error: 500,
  database_unavailable: 503,
  unavailable: 503,
} as const satisfies Record<string, ContentfulStatusCode>;
export type ErrorCode = keyof typeof ERROR_STATUS;

/** An answer to a client mistake (or a known state): a stable code, its status, a sentence naming the problem. */
export class ApiError extends Error {
  readonly status: ContentfulStatusCode;

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = "ApiError";
    this.status = ERROR_STATUS[code];
  }
}

/** 400 with a code that names which part of the request is wrong. */
export const badRequest = (
  code: { [C in ErrorCode]: (typeof ERROR_STATUS)[C] extends 400 ? C : never }[ErrorCode],
  message: string,
) => new ApiError(code, message);
export const notFound = (what: string) => new ApiError("not_found", `${what} not found`);

/** The one error shape: `{"error":{"code":…,"message":…}}`. */
export const errorBody = (code: ErrorCode, message: string) => ({ error: { code, message } });

/** Hono's own exceptions (a validator's 400, a body limit's 413) in our codes. */
const HTTP_EXCEPTION_CODES: Partial<Record<number, ErrorCode>> = {
  401: "unauthenticated",
  403: "forbidden",
  404: "not_found",
  405: "method_not_allowed",
  413: "payload_too_large",
  415: "unsupported_media_type",
};

export function errorResponse(c: Context, error: ApiError): Response {
  for (const [name, value] of Object.entries(error.headers)) c.header(name, value);
  return c.json(errorBody(error.code, error.message), error.status);
}

/** Anything that is not an ApiError is our fault: logged with its stack, answered without it. */
export function onError(logger: Logger): ErrorHandler {
  return (error, c) => {
    if (error instanceof ApiError) return errorResponse(c, error);
    if (error instanceof HTTPException && error.status < 500) {
      const code = HTTP_EXCEPTION_CODES[error.status] ?? "bad_request";
      return errorResponse(c, new ApiError(code, error.message));
    }
    if (isDatabaseUnavailable(error)) {
      logger.warn({ err: error, path: c.req.path }, "database unavailable");
      return errorResponse(
        c,
        new ApiError("database_unavailable", "the database is unreachable; try again", {
          "Retry-After": "1",
        }),
      );
    }
    logger.error({ err: error, path: c.req.path }, "unhandled error");
    return errorResponse(c, new ApiError("internal_error", "internal error"));
  };
}

export const onNotFound: NotFoundHandler = (c) =>
  errorResponse(c, new ApiError("not_found", `no route for ${c.req.method} ${c.req.path}`));

/** SQLSTATE classes 08 (connection exception) and 57P (server shutting down or starting up). */
const UNAVAILABLE_SQLSTATE = /^(08|57P)/;
const UNAVAILABLE_CODES = new Set([
  "53300", // too many connections
  // postgres.js's own
  "CONNECT_TIMEOUT",
  "CONNECTION_CLOSED",
  "CONNECTION_DESTROYED",
  "CONNECTION_ENDED",
  // the socket's
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
]);

/**
 * A lost or refused database connection: not our bug, a 503. Only errors that came out of a
 * query count (postgres.js marks each with the `query` it failed, and drizzle wraps them in a
 * DrizzleQueryError with the driver's error as `cause`), so a client hanging up mid-body
 * (also ECONNRESET) is never read as a database outage.
 */
function isDatabaseUnavailable(error: unknown): boolean {
  for (let link = error, depth = 0; link instanceof Error && depth < 5; depth++) {
    const code = (link as { code?: unknown }).code;
    if (
      "query" in link &&
      typeof code === "string" &&
      (UNAVAILABLE_SQLSTATE.test(code) || UNAVAILABLE_CODES.has(code))
    ) {
      return true;
    }
    link = link.cause;
  }
  return false;
}
