import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { ApiError, badRequest, errorResponse } from "./errors.js";

/**
 * 413 for a body over `maxBytes`, declared or streamed, before anyone reads it. A declared
 * Content-Length is checked from the header alone; only a body of unknown length is counted as
 * it streams (which costs building the full Web Request, so the common case avoids it).
 */
export function jsonBodyLimit(maxBytes: number): MiddlewareHandler {
  const tooLarge = new ApiError(413, "payload_too_large", `the body exceeds ${maxBytes} bytes`);
  const streamed = bodyLimit({ maxSize: maxBytes, onError: (c) => errorResponse(c, tooLarge) });
  return async (c, next) => {
    const declared = c.req.header("content-length");
    if (declared === undefined) return streamed(c, next);
    if (!/^\d+$/.test(declared)) throw badRequest("invalid_body", "Content-Length is not a number");
    if (Number(declared) > maxBytes) return errorResponse(c, tooLarge);
    await next();
  };
}

const JSON_TYPE = /^application\/json\s*(;|$)/i;

/** The body parsed as JSON; 415 when it is not declared JSON, 400 when it is not JSON. */
export async function readJson(request: Request): Promise<unknown> {
  if (!JSON_TYPE.test(request.headers.get("content-type") ?? "")) {
    throw new ApiError(415, "unsupported_media_type", "Content-Type must be application/json");
  }
  const text = await request.text();
  try {
    return JSON.parse(text);
  } catch {
    throw badRequest("invalid_json", "the body is not valid JSON");
  }
}
