import type { Context, ErrorHandler, NotFoundHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { Logger } from "../logger.js";

/**
 * The codes the runtime itself answers with (refused HTTP, bodies, queries, ids, tokens, outages):
 * every function answers with these and the codes it declares (`errorCodes`). A code not
 * declared does not compile.
 */
export const RUNTIME_ERROR_STATUS = {
  bad_request: 400,
  incomplete_body: 400,
  invalid_body: 400,
  invalid_id: 400,
  invalid_json: 400,
  invalid_query: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  request_timeout: 408,
  payload_too_large: 413,
  unsupported_media_type: 415,
  expectation_failed: 417,
  headers_too_large: 431,
  internal_error: 500,
  database_unavailable: 503,
  unavailable: 503,
} as const satisfies ErrorStatusTable;
export type RuntimeErrorCode = keyof typeof RUNTIME_ERROR_STATUS;

/** Error codes and the status each answers with. */
export type ErrorStatusTable = Record<string, ContentfulStatusCode>;

/** An answer to a client mistake (or a known state): a stable code, its status, a sentence naming the problem. */
export class ApiError extends Error {
  constructor(
    readonly code: string,
    readonly status: ContentfulStatusCode,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = "ApiError";
  }
}

/** The codes of `table` whose status is 400. */
export type BadRequestCode<T extends ErrorStatusTable> = {
  [C in keyof T]: T[C] extends 400 ? C : never;
}[keyof T] &
  string;

/** An answer with one of the runtime's own codes. */
export const runtimeError = (
  code: RuntimeErrorCode,
  message: string,
  headers?: Record<string, string>,
) => new ApiError(code, RUNTIME_ERROR_STATUS[code], message, headers);

/** The one error shape: `{"error":{"code":…,"message":…}}`. */
export const errorBody = (code: string, message: string) => ({ error: { code, message } });

/** Hono's own exceptions (a validator's 400, a body limit's 413) in our codes. */
const HTTP_EXCEPTION_CODES: Partial<Record<number, RuntimeErrorCode>> = {
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
      return errorResponse(c, runtimeError(code, error.message));
    }
    if (isDatabaseUnavailable(error)) {
      logger.warn({ err: error, path: c.req.path }, "database unavailable");
      return errorResponse(
        c,
        runtimeError("database_unavailable", "the database is unreachable; try again", {
          "Retry-After": "1",
        }),
      );
    }
    logger.error({ err: error, path: c.req.path }, "unhandled error");
    return errorResponse(c, runtimeError("internal_error", "internal error"));
  };
}

export const onNotFound: NotFoundHandler = (c) =>
  errorResponse(c, runtimeError("not_found", `no route for ${c.req.method} ${c.req.path}`));

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
