import type { Dispatcher, Pool } from "undici";

export type Posted =
  | { kind: "response"; status: number; headers: Record<string, string>; bytes: Buffer }
  | {
      kind: "failed";
      /** The whole request was handed to the socket: the provider may have acted on it. */
      written: boolean;
      expired: boolean;
      tooLarge: boolean;
      error: unknown;
    };

/**
 * One POST with a hard deadline from the moment it is dispatched: waiting for a connection,
 * connecting, writing, the headers and the whole body all count. undici's own timeouts bound only
 * idle gaps, so a provider trickling its answer would otherwise hold the charge (and its lease)
 * forever. It also says whether the request was written at all (undici's onRequestSent): a
 * failure before that cannot have charged anything.
 */
export function post(
  pool: Pool,
  path: string,
  headers: Record<string, string>,
  body: string,
  limits: { deadlineMs: number; maxBytes: number },
): Promise<Posted> {
  return new Promise((resolve) => {
    let settled = false;
    let written = false;
    let expired = false;
    let tooLarge = false;
    let abort: ((error: Error) => void) | undefined;
    let status = 0;
    let answerHeaders: Record<string, string> = {};
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (result: Posted) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(result);
    };
    const fail = (error: unknown) => finish({ kind: "failed", written, expired, tooLarge, error });
    const timer = setTimeout(() => {
      expired = true;
      const error = new Error("deadline");
      // Not yet on a connection: it is stopped before a byte is written (onConnect below).
      if (abort) abort(error);
      else fail(error);
    }, limits.deadlineMs);
    pool.dispatch({ method: "POST", path, headers, body, headersTimeout: 0, bodyTimeout: 0 }, {
      onConnect(abortRequest: (error: Error) => void) {
        abort = abortRequest;
        if (expired) abortRequest(new Error("deadline"));
      },
      onRequestSent() {
        written = true;
      },
      onHeaders(statusCode: number, raw: Buffer[] | string[] | null) {
        status = statusCode;
        answerHeaders = headerRecord(raw);
        return true;
      },
      onData(chunk: Buffer) {
        size += chunk.length;
        if (size > limits.maxBytes) {
          tooLarge = true;
          abort?.(new Error("answer too large"));
          return false;
        }
        chunks.push(chunk);
        return true;
      },
      onComplete() {
        finish({
          kind: "response",
          status,
          headers: answerHeaders,
          bytes: Buffer.concat(chunks),
        });
      },
      onError: fail,
      // The legacy handler interface, which undici 7 still drives and which alone reports
      // onRequestSent; its published types list only the newer one.
    } as unknown as Dispatcher.DispatchHandler);
  });
}

/** undici's raw header list (name, value, name, value…) as lower-case names to their last value. */
function headerRecord(raw: Buffer[] | string[] | null): Record<string, string> {
  const headers: Record<string, string> = {};
  for (let i = 0; raw && i + 1 < raw.length; i += 2) {
    headers[String(raw[i]).toLowerCase()] = String(raw[i + 1]);
  }
  return headers;
}
