import type { IncomingMessage } from "node:http";
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "./app-env.js";
import { runtimeError } from "./errors.js";

/** How much of a refused chunked body is read and thrown away so the connection stays usable. */
const DISCARD_BYTES = 8 * 2 ** 20;

/**
 * A body on these has no meaning (RFC 9110 sections 9.3.1 and 9.3.2: content in a GET or HEAD
 * request "has no generally defined semantics" and cannot change what the request asks for;
 * 9.3.8: a TRACE carries none), and a Web Request cannot carry one (nor be a TRACE or TRACK with
 * one): it is capped like any other, then read and ignored.
 */
const BODILESS = new Set(["GET", "HEAD", "TRACE", "TRACK"]);

/**
 * 413 for a body over `maxBytes`, before any handler reads it. A declared Content-Length is
 * checked from the header alone (the server discards the unread body after answering). A chunked
 * body (the only other kind, RFC 9112 section 6.3) is counted as it arrives, and kept, at most
 * `maxBytes` of it, for the handler; one over the cap is read to its end and thrown away, so that
 * the client hears the 413 and may send its next request on the same connection. Past a further
 * 8 MiB the connection is closed instead. On GET and HEAD the body within the cap is read and
 * dropped: the route answers as it would without one.
 */
export function jsonBodyLimit(maxBytes: number): MiddlewareHandler<AppEnv> {
  const tooLarge = (headers: Record<string, string> = {}) =>
    runtimeError("payload_too_large", `the body exceeds ${maxBytes} bytes`, headers);
  return async (c, next) => {
    const declared = c.req.header("content-length");
    if (declared !== undefined) {
      if (!/^\d+$/.test(declared))
        throw runtimeError("invalid_body", "Content-Length is not a number");
      if (Number(declared) > maxBytes) throw tooLarge();
      return next();
    }
    // In-process requests (app.request) have no connection, and no chunked bodies.
    const incoming = c.env?.incoming;
    if (c.req.header("transfer-encoding") === undefined || !incoming) return next();
    const body = await readUpTo(incoming, maxBytes);
    if (body === "too large") throw tooLarge();
    if (body === "far too large") throw tooLarge({ Connection: "close" });
    if (BODILESS.has(c.req.method)) return next();
    // From here on the body is in memory with its length declared, as a buffering proxy would
    // pass it on; a second cap (a route's own) checks that length.
    const headers = new Headers(c.req.raw.headers);
    headers.delete("transfer-encoding");
    headers.set("content-length", String(body.length));
    c.req.raw = new Request(c.req.raw, { body, headers });
    await next();
  };
}

/** The whole body when it fits in `maxBytes`; else how far over it went (the rest discarded). */
function readUpTo(
  incoming: IncomingMessage,
  maxBytes: number,
): Promise<Buffer | "too large" | "far too large"> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const settle = (outcome: () => void) => {
      incoming
        .off("data", onData)
        .off("end", onEnd)
        .off("error", onFailure)
        .off("close", onFailure);
      outcome();
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBytes) chunks.push(chunk);
      else if (size > maxBytes + DISCARD_BYTES) settle(() => resolve("far too large"));
      else chunks.length = 0;
    };
    const onEnd = () =>
      settle(() => resolve(size > maxBytes ? "too large" : Buffer.concat(chunks)));
    const onFailure = (error?: Error) => settle(() => reject(incompleteBody(error)));
    incoming.on("data", onData).on("end", onEnd).on("error", onFailure).on("close", onFailure);
  });
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
  return runtimeError("incomplete_body", "the connection closed before the whole body arrived");
}

const JSON_TYPE = /^application\/json\s*(;|$)/i;

/** The body parsed as JSON; 415 when it is not declared JSON, 400 when it is not JSON. */
export async function readJson(request: Request): Promise<unknown> {
  if (!JSON_TYPE.test(request.headers.get("content-type") ?? "")) {
    throw runtimeError("unsupported_media_type", "Content-Type must be application/json");
  }
  const text = await readText(request);
  try {
    return JSON.parse(text);
  } catch {
    throw runtimeError("invalid_json", "the body is not valid JSON");
  }
}
