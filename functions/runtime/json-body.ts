import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { ApiError, badRequest, errorResponse } from "./errors.js";

/** 413 for a body over `maxBytes`, declared or streamed, before anyone reads it. */
export const jsonBodyLimit = (maxBytes: number): MiddlewareHandler =>
  bodyLimit({
    maxSize: maxBytes,
    onError: (c) =>
      errorResponse(
        c,
        new ApiError(413, "payload_too_large", `the body exceeds ${maxBytes} bytes`),
      ),
  });

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
