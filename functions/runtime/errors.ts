import type { Context, ErrorHandler, NotFoundHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { Logger } from "./logger.js";

/** An answer to a client mistake (or a known state): status, a stable code, a sentence naming the problem. */
export class ApiError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = "ApiError";
  }
}

export const badRequest = (code: string, message: string) => new ApiError(400, code, message);
export const notFound = (what: string) => new ApiError(404, "not_found", `${what} not found`);

/** The one error shape: `{"error":{"code":…,"message":…}}`. */
export const errorBody = (code: string, message: string) => ({ error: { code, message } });

export function errorResponse(c: Context, error: ApiError): Response {
  for (const [name, value] of Object.entries(error.headers)) c.header(name, value);
  return c.json(errorBody(error.code, error.message), error.status);
}

/** Anything that is not an ApiError is our fault: logged with its stack, answered without it. */
export function onError(logger: Logger): ErrorHandler {
  return (error, c) => {
    if (error instanceof ApiError) return errorResponse(c, error);
    if (error instanceof HTTPException && error.status < 500) {
      return errorResponse(c, new ApiError(error.status, "bad_request", error.message));
    }
    if (isDatabaseUnavailable(error)) {
      logger.warn({ err: error, path: c.req.path }, "database unavailable");
      return errorResponse(
        c,
        new ApiError(503, "database_unavailable", "the database is unreachable; try again", {
          "Retry-After": "1",
        }),
      );
    }
    logger.error({ err: error, path: c.req.path }, "unhandled error");
    return errorResponse(c, new ApiError(500, "internal_error", "internal error"));
  };
}

export const onNotFound: NotFoundHandler = (c) =>
  errorResponse(c, new ApiError(404, "not_found", `no route for ${c.req.method} ${c.req.path}`));

/** Register after a path's handlers: every other method on it gets 405 with Allow. */
export function methodNotAllowed(allowed: readonly string[]) {
  const allow = [...allowed, ...(allowed.includes("GET") ? ["HEAD"] : [])].join(", ");
  return (c: Context): Response =>
    errorResponse(
      c,
      new ApiError(405, "method_not_allowed", `${c.req.method} is not allowed here; use ${allow}`, {
        Allow: allow,
      }),
    );
}

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
