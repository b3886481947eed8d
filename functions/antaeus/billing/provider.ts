import { setTimeout as sleep } from "node:timers/promises";
import type { Dispatcher, Pool } from "undici";
import type { AttemptRecord } from "../domain/attempt.js";
import type { ClaimedInvoice } from "../domain/claim.js";
import type { Outcome } from "../domain/status.js";
import { decodeBody, getBoolean, MAX_ANSWER_BYTES } from "./answer.js";
import { backoff } from "./backoff.js";
import { wireRequest } from "./dialect.js";
import type { Dialect } from "./settings.js";
import type { TokenFile } from "./token-file.js";

/** The outcomes a charge through the provider can end in (the rest are reached without a call). */
type ProviderOutcome = Extract<
  Outcome,
  "PAID" | "DECLINED" | "REJECTED" | "NETWORK_ERROR" | "OUTCOME_UNKNOWN"
>;

export interface ChargeResult {
  outcome: ProviderOutcome;
  calls: AttemptRecord[];
  /** With DECLINED: the provider's reason, or null when it gave none (the original dialect). */
  declineReason: string | null;
}

/**
 * What stands between a lane and the provider: its permit for each call (the shared rate limit,
 * retries included), and who hears of a 429.
 */
export interface CallGate {
  /** Resolves when the next call may go; rejects when none may (the lane cannot renew its share). */
  permit(): Promise<void>;
  /** The provider answered 429 to a call that went at `sentAt` (performance.now()). */
  throttled(retryAfterMs: number | undefined, sentAt: number): void;
}

/** No limit: every call goes at once (a charge made outside a lane, as in the tests of one call). */
const OPEN_GATE: CallGate = { permit: async () => {}, throttled: () => {} };

type CallResult =
  | {
      kind: "answer";
      outcome: "PAID" | "DECLINED" | "REJECTED";
      status: number;
      chargeId: string | null;
      error: string | null;
      declineReason: string | null;
    }
  /** The request may have reached the provider: it may have charged. */
  | { kind: "unknown"; status: number | null; error: string; retryAfterMs: number | undefined }
  /** Nothing left this process (no connection, no token): nothing can have been charged. */
  | { kind: "not-sent"; status: null; error: string; retryAfterMs: undefined };

/**
 * The payment provider over HTTP, in the dialect it speaks (dialect.ts). Each attempt has a hard
 * deadline of `timeoutMs` covering the wait for a connection, connecting, sending, the headers and
 * the whole body. A 4xx other than 429 is an answer (the provider refused the request) and is never
 * retried. A failure before the request was written (no connection, no token) is retried: nothing
 * can have been charged. An unknown outcome (deadline, broken connection, 5xx, 429, an unreadable
 * 2xx) is retried under the same Idempotency-Key only when the provider honours keys; with one
 * that does not, asking again could charge twice, so the charge ends OUTCOME_UNKNOWN.
 */
export class PaymentProvider {
  private pool: Promise<Pool> | undefined;
  private readonly url: URL;

  constructor(
    private readonly options: {
      endpoint: string;
      dialect: Dialect;
      idempotent: boolean;
      timeoutMs: number;
      retries: number;
      token: TokenFile | undefined;
    },
  ) {
    this.url = new URL(options.endpoint);
  }

  /**
   * undici, the largest module in the bundle, is loaded by the first charge, not by every cold
   * start: most requests (the invoice API, probes) never charge. No cap on connections: every
   * charge in flight has its own, so no attempt's deadline is spent queueing here behind another
   * (several billing requests may share this replica).
   */
  private connections(): Promise<Pool> {
    // undici is CommonJS: inside the bundle, import() holds its exports only under `default`.
    this.pool ??= import("undici").then(
      ({ default: { Pool } }) => new Pool(this.url.origin, { keepAliveTimeout: 30_000 }),
    );
    return this.pool;
  }

  async charge(invoice: ClaimedInvoice, gate: CallGate = OPEN_GATE): Promise<ChargeResult> {
    const request = wireRequest(this.options.dialect, invoice);
    const key = this.options.dialect === "v1" ? invoice.attemptKey : null;
    const calls: AttemptRecord[] = [];
    for (let retry = 0; ; retry++) {
      // Every call waits for its permit, retries too: they count against the provider's limit.
      const refused = await gate.permit().then(
        () => undefined,
        (error: unknown) => notSent(describe(error)),
      );
      const attemptedAt = new Date();
      const started = performance.now();
      const result = refused ?? (await this.call(request.headers, request.body));
      if (result.kind === "unknown" && result.status === 429) {
        gate.throttled(result.retryAfterMs, started);
      }
      const giveUp = result.kind === "unknown" && !this.options.idempotent;
      calls.push({
        invoiceId: invoice.id,
        attemptNumber: invoice.attempts + calls.length + 1,
        idempotencyKey: key,
        outcome:
          result.kind === "answer"
            ? result.outcome
            : result.kind === "not-sent"
              ? "NOT_SENT"
              : giveUp
                ? "OUTCOME_UNKNOWN"
                : "UNKNOWN",
        httpStatus: result.status,
        latencyMs: Math.round(performance.now() - started),
        chargeId: result.kind === "answer" ? result.chargeId : null,
        error: result.error,
        attemptedAt,
        retry: invoice.dunning.declines,
        declineReason: result.kind === "answer" ? result.declineReason : null,
      });
      if (result.kind === "answer") {
        return { outcome: result.outcome, calls, declineReason: result.declineReason };
      }
      if (giveUp) return { outcome: "OUTCOME_UNKNOWN", calls, declineReason: null };
      if (retry >= this.options.retries)
        return { outcome: "NETWORK_ERROR", calls, declineReason: null };
      await sleep(backoff(retry, result.retryAfterMs));
    }
  }

  async close(): Promise<void> {
    await (await this.pool)?.close();
  }

  private async call(wireHeaders: Record<string, string>, body: string): Promise<CallResult> {
    const headers = { ...wireHeaders };
    if (this.options.token) {
      try {
        headers.authorization = `Bearer ${this.options.token.current()}`;
      } catch (error) {
        return notSent(
          `payment token file ${this.options.token.path} unreadable: ${describe(error)}`,
        );
      }
    }
    const sent = await post(
      await this.connections(),
      this.url.pathname + this.url.search,
      headers,
      body,
      {
        deadlineMs: this.options.timeoutMs,
        maxBytes: MAX_ANSWER_BYTES,
      },
    );
    if (sent.kind === "failed") {
      const reason = sent.expired
        ? sent.written
          ? `no answer within ${this.options.timeoutMs} ms`
          : `not sent within ${this.options.timeoutMs} ms (no connection)`
        : sent.tooLarge
          ? `answer larger than ${MAX_ANSWER_BYTES} bytes`
          : describe(sent.error);
      return sent.written ? unknown(null, reason) : notSent(reason);
    }
    const { status } = sent;
    let text: string;
    try {
      text = decodeBody(sent.bytes, sent.headers["content-encoding"]);
    } catch (error) {
      return unknown(status, `answer could not be decoded: ${describe(error)}`);
    }
    if (status >= 200 && status < 300) return parseAnswer(status, text);
    if (status === 429 || status >= 500) {
      return unknown(
        status,
        `HTTP ${status}: ${errorMessage(text)}`,
        retryAfter(sent.headers["retry-after"]),
      );
    }
    return {
      kind: "answer",
      outcome: "REJECTED",
      status,
      chargeId: null,
      error: `HTTP ${status}: ${errorMessage(text)}`,
      declineReason: null,
    };
  }
}

type Posted =
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
function post(
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
    const answerHeaders: Record<string, string> = {};
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
        for (let i = 0; raw && i + 1 < raw.length; i += 2) {
          answerHeaders[String(raw[i]).toLowerCase()] = String(raw[i + 1]);
        }
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

const unknown = (status: number | null, error: string, retryAfterMs?: number): CallResult => ({
  kind: "unknown",
  status,
  error,
  retryAfterMs,
});
const notSent = (error: string): CallResult => ({
  kind: "not-sent",
  status: null,
  error,
  retryAfterMs: undefined,
});

/** A 2xx: `result` as the original's client reads it (answer.ts); anything else is unknown. */
function parseAnswer(status: number, text: string): CallResult {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return unknown(status, "answer is not JSON");
  }
  const fields = typeof body === "object" && body !== null ? (body as Record<string, unknown>) : {};
  const paid = getBoolean(fields.result);
  if (paid === undefined) return unknown(status, "answer has no boolean result");
  const chargeId = typeof fields.charge_id === "string" ? fields.charge_id.slice(0, 200) : null;
  // A decline's reason decides whether it is retried (domain/dunning.ts); a provider may send
  // none, and anything but a short token is not one.
  const declineReason =
    !paid && typeof fields.reason === "string" && /^[a-z0-9_]{1,64}$/.test(fields.reason)
      ? fields.reason
      : null;
  return {
    kind: "answer",
    outcome: paid ? "PAID" : "DECLINED",
    status,
    chargeId,
    error: null,
    declineReason,
  };
}

function retryAfter(header: string | string[] | undefined): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value) return undefined;
  if (/^\d+$/.test(value)) return Number(value) * 1_000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

function errorMessage(text: string): string {
  try {
    const body = JSON.parse(text) as { error?: { message?: unknown } };
    if (typeof body.error?.message === "string") return body.error.message.slice(0, 300);
  } catch {
    // not JSON: fall through to the raw text
  }
  return text.slice(0, 300);
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: string }).code;
  return (code ? `${code}: ` : "") + error.message.slice(0, 300);
}
