import { connect } from "node:net";

/**
 * Writes `bytes` to a function's port as they are, and resolves with everything it answers
 * until it closes the connection: for requests no HTTP client would send.
 */
export function rawRequest(port: number, bytes: string | Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    const received: Buffer[] = [];
    socket.on("data", (chunk) => received.push(chunk));
    socket.on("error", reject);
    socket.on("close", () => resolve(Buffer.concat(received).toString("latin1")));
    socket.end(bytes);
  });
}

/** Sends the start of a request and hangs up, as a client that goes away mid-body does. */
export function hangUpMidRequest(port: number, bytes: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => {
      socket.write(bytes, () => {
        // Let the server start reading before the connection goes.
        setTimeout(() => socket.destroy(), 50);
      });
    });
    socket.on("error", reject);
    socket.on("close", () => resolve());
  });
}

/** A raw response split into its status, lower-cased headers and body. */
export function parseResponse(raw: string): {
  status: number;
  headers: Record<string, string>;
  body: string;
} {
  const end = raw.indexOf("\r\n\r\n");
  const [statusLine = "", ...lines] = raw.slice(0, end).split("\r\n");
  const headers = Object.fromEntries(
    lines.map((line) => {
      const colon = line.indexOf(":");
      return [line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim()];
    }),
  );
  return { status: Number(statusLine.split(" ")[1]), headers, body: raw.slice(end + 4) };
}

/** One response read off the wire: its status, lower-cased headers (a repeated one joined with ", ") and body. */
export interface WireResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * Splits bytes received on one connection into the final responses they hold (1xx interim ones
 * skipped), as a client that sent `methods` in that order reads them: a HEAD answer, a 204 and a
 * 304 have no body, a chunked one is decoded, one with neither length nor chunks runs to the
 * close. `closed` says the server has closed, so a body running to the close is whole. What is
 * not yet whole is left out.
 */
function readResponses(raw: string, methods: readonly string[], closed: boolean) {
  const responses: WireResponse[] = [];
  let at = 0;
  for (;;) {
    const end = raw.indexOf("\r\n\r\n", at);
    if (end < 0) break;
    const [statusLine = "", ...lines] = raw.slice(at, end).split("\r\n");
    const status = Number(/^HTTP\/\d\.\d (\d{3})/.exec(statusLine)?.[1]);
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(":");
      const name = line.slice(0, colon).toLowerCase();
      const value = line.slice(colon + 1).trim();
      headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
    }
    let next = end + 4;
    if (status >= 100 && status < 200) {
      at = next;
      continue;
    }
    let body = "";
    const bodiless = methods[responses.length] === "HEAD" || status === 204 || status === 304;
    if (!bodiless && /chunked/i.test(headers["transfer-encoding"] ?? "")) {
      const decoded = dechunk(raw, next);
      if (!decoded) break;
      [body, next] = decoded;
    } else if (!bodiless && headers["content-length"] !== undefined) {
      const length = Number(headers["content-length"]);
      if (raw.length < next + length) break;
      body = raw.slice(next, next + length);
      next += length;
    } else if (!bodiless) {
      if (!closed) break;
      body = raw.slice(next);
      next = raw.length;
    }
    responses.push({ status, headers, body });
    at = next;
  }
  return responses;
}

/** A chunked body starting at `from`, and where it ends; undefined while it is not all there. */
function dechunk(raw: string, from: number): [string, number] | undefined {
  let at = from;
  let body = "";
  for (;;) {
    const lineEnd = raw.indexOf("\r\n", at);
    if (lineEnd < 0) return undefined;
    const size = Number.parseInt(raw.slice(at, lineEnd), 16);
    at = lineEnd + 2;
    if (size === 0) {
      // Trailers, if any, up to the empty line.
      const end = raw.indexOf("\r\n", at);
      if (end < 0) return undefined;
      if (end === at) return [body, at + 2];
      const trailersEnd = raw.indexOf("\r\n\r\n", at);
      return trailersEnd < 0 ? undefined : [body, trailersEnd + 4];
    }
    if (raw.length < at + size + 2) return undefined;
    body += raw.slice(at, at + size);
    at += size + 2;
  }
}

/**
 * Writes `bytes` (one request or several, pipelined; in parts, they go out together, uncopied)
 * and reads the answers, keeping the connection open while they come: Node's server drops a
 * request still being handled when the client half-closes. Resolves once `expected` final responses are in, or the server closed, or
 * (with `finAfterMs`) that long after the last of them, when the client half-closes as one that
 * gave up on a body it never finished sending; rejects after `timeoutMs` with nothing more.
 * `reset` says the server cut the connection while bytes of the client's were unread (TCP's
 * "reset problem", RFC 9112 section 9.6): the client may then never see the answer.
 */
export function exchange(
  port: number,
  bytes: string | Buffer | readonly Buffer[],
  options: {
    methods: readonly string[];
    expected: number;
    finAfterMs?: number;
    timeoutMs?: number;
  },
): Promise<{
  responses: WireResponse[];
  closed: boolean;
  reset: boolean;
  raw: string;
  /** The socket error seen, if any (its code). */
  error?: string;
}> {
  const { methods, expected, finAfterMs, timeoutMs = 10_000 } = options;
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    let raw = "";
    let closed = false;
    let reset = false;
    let error: string | undefined;
    let finTimer: NodeJS.Timeout | undefined;
    const done = (responses = readResponses(raw, methods, closed)) => {
      clearTimeout(deadline);
      clearTimeout(finTimer);
      socket.destroy();
      resolve({ responses, closed, reset, raw, ...(error === undefined ? {} : { error }) });
    };
    const deadline = setTimeout(() => {
      socket.destroy();
      const answered = readResponses(raw, methods, false).length;
      reject(
        new Error(
          `no answer within ${timeoutMs} ms (${answered} of ${expected} responses; received ${JSON.stringify(raw.slice(0, 2000))})`,
        ),
      );
    }, timeoutMs);
    const check = () => {
      const responses = readResponses(raw, methods, closed);
      if (closed || responses.length >= methods.length) return done(responses);
      if (responses.length >= expected && finAfterMs !== undefined) {
        clearTimeout(finTimer);
        finTimer = setTimeout(() => socket.end(), finAfterMs);
      } else if (responses.length >= expected) {
        done(responses);
      }
    };
    socket.on("data", (chunk) => {
      raw += chunk.toString("latin1");
      check();
    });
    // A reset: the server closed with bytes of ours unread, which may discard its answer.
    socket.on("error", (failure: NodeJS.ErrnoException) => {
      error = failure.code ?? failure.message;
      if (error === "ECONNRESET" || error === "EPIPE") reset = true;
    });
    socket.on("close", () => {
      closed = true;
      check();
    });
    if (typeof bytes === "string" || Buffer.isBuffer(bytes)) socket.write(bytes);
    else {
      socket.cork();
      for (const part of bytes) socket.write(part);
      socket.uncork();
    }
    if (expected === 0 && finAfterMs !== undefined) {
      finTimer = setTimeout(() => socket.end(), finAfterMs);
    }
  });
}
