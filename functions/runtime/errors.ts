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

export function errorResponse(c: Context, error: ApiError): Response {
  for (const [name, value] of Object.entries(error.headers)) c.header(name, value);
  return c.json({ error: { code: error.code, message: error.message } }, error.status);
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

/** Lost or refused connections (postgres.js codes, SQLSTATE classes 08 and 57P): not our bug, a 503. */
function isDatabaseUnavailable(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  return (
    typeof code === "string" &&
    (code.startsWith("08") ||
      code.startsWith("57P") ||
      code.startsWith("CONNECT") ||
      code === "ECONNREFUSED" ||
      code === "ECONNRESET")
  );
}
