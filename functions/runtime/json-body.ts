import type { MiddlewareHandler } from "hono";
import { ApiError, badRequest } from "./errors.js";

/**
 * 413 for a body over `maxBytes`, before anyone reads it. A declared Content-Length is checked
 * from the header alone; a chunked body (the only other kind, RFC 9112 section 6.3) is counted
 * as it arrives and kept, at most `maxBytes` of it, for the handler. What lies beyond the cap is
 * never buffered: the server discards it after answering.
 */
export function jsonBodyLimit(maxBytes: number): MiddlewareHandler {
  const tooLarge = () =>
    new ApiError(413, "payload_too_large", `the body exceeds ${maxBytes} bytes`);
  return async (c, next) => {
    const declared = c.req.header("content-length");
    if (declared !== undefined) {
      if (!/^\d+$/.test(declared))
        throw badRequest("invalid_body", "Content-Length is not a number");
      if (Number(declared) > maxBytes) throw tooLarge();
      return next();
    }
    if (c.req.header("transfer-encoding") === undefined) return next();
    const reader = c.req.raw.body?.getReader();
    if (!reader) return next();
    const chunks: Uint8Array[] = [];
    let size = 0;
    for (;;) {
      const chunk = await reader.read().catch((error: unknown) => {
        throw incompleteBody(error);
      });
      if (chunk.done) break;
      size += chunk.value.byteLength;
      if (size > maxBytes) throw tooLarge();
      chunks.push(chunk.value);
    }
    c.req.raw = new Request(c.req.raw, { body: Buffer.concat(chunks) });
    await next();
  };
}

/**
 * The body as text. A body that stops arriving (the client hung up, or a chunk was malformed)
 * is the client's doing: a 400, never mistaken for a failure of ours or of the database.
 */
export async function readText(request: Request): Promise<string> {
  try {
    return await request.text();
  } catch (error) {
    throw incompleteBody(error);
  }
}

function incompleteBody(error: unknown): unknown {
  // A TypeError is ours (a body read twice), not the client's.
  if (error instanceof TypeError) return error;
  return badRequest("incomplete_body", "the connection closed before the whole body arrived");
}

const JSON_TYPE = /^application\/json\s*(;|$)/i;

/** The body parsed as JSON; 415 when it is not declared JSON, 400 when it is not JSON. */
export async function readJson(request: Request): Promise<unknown> {
  if (!JSON_TYPE.test(request.headers.get("content-type") ?? "")) {
    throw new ApiError(415, "unsupported_media_type", "Content-Type must be application/json");
  }
  const text = await readText(request);
  try {
    return JSON.parse(text);
  } catch {
    throw badRequest("invalid_json", "the body is not valid JSON");
  }
}
