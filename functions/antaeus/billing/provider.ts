import { setTimeout as sleep } from "node:timers/promises";
import { Pool } from "undici";
import { formatDecimal } from "../../runtime/money.js";
import type { AttemptRecord, ClaimedInvoice } from "../data/claims.js";
import { MAX_BACKOFF_MS, MAX_RETRY_AFTER_MS } from "./settings.js";
import type { TokenFile } from "./token-file.js";

export type ChargeOutcome = "PAID" | "DECLINED" | "REJECTED" | "NETWORK_ERROR";

export interface ChargeResult {
  outcome: ChargeOutcome;
  calls: AttemptRecord[];
}

type CallResult =
  | {
      kind: "answer";
      outcome: "PAID" | "DECLINED" | "REJECTED";
      status: number;
      chargeId: string | null;
      error: string | null;
    }
  | { kind: "unknown"; status: number | null; error: string; retryAfterMs: number | undefined };

/**
 * The payment provider over HTTP, as the original challenge defined it plus what a real provider
 * needs: an Idempotency-Key per attempt, a per-call timeout, and retries of anything whose outcome
 * is unknown (timeouts, 5xx, 429, broken connections) under the same key. A 4xx other than 429
 * is an answer — the provider refused the request — and is never retried.
 */
export class PaymentProvider {
  private readonly pool: Pool;
  private readonly url: URL;

  constructor(
    private readonly options: {
      endpoint: string;
      timeoutMs: number;
      retries: number;
      connections: number;
      token: TokenFile | undefined;
    },
  ) {
    this.url = new URL(options.endpoint);
    this.pool = new Pool(this.url.origin, {
      connections: options.connections,
      keepAliveTimeout: 30_000,
    });
  }

  async charge(invoice: ClaimedInvoice): Promise<ChargeResult> {
    // Fields of the original challenge's request, plus the invoice id; value as an exact decimal.
    const body = `{"invoice_id":${invoice.id},"customer_id":${invoice.customerId},"currency":"${invoice.currency}","value":${formatDecimal(invoice.amountMinor)}}`;
    const calls: AttemptRecord[] = [];
    for (let retry = 0; ; retry++) {
      const attemptedAt = new Date();
      const started = performance.now();
      const result = await this.call(body, invoice.attemptKey);
      calls.push({
        invoiceId: invoice.id,
        attemptNumber: invoice.attempts + calls.length + 1,
        idempotencyKey: invoice.attemptKey,
        outcome: result.kind === "answer" ? result.outcome : "UNKNOWN",
        httpStatus: result.status,
        latencyMs: Math.round(performance.now() - started),
        chargeId: result.kind === "answer" ? result.chargeId : null,
        error: result.error,
        attemptedAt,
      });
      if (result.kind === "answer") return { outcome: result.outcome, calls };
      if (retry >= this.options.retries) return { outcome: "NETWORK_ERROR", calls };
      await sleep(backoff(retry, result.retryAfterMs));
    }
  }

  close(): Promise<void> {
    return this.pool.close();
  }

  private async call(body: string, idempotencyKey: string): Promise<CallResult> {
    const headers: Record<string, string> = {
      "content-type": "application/json",
      "idempotency-key": idempotencyKey,
    };
    const token = this.options.token?.current();
    if (token) headers.authorization = `Bearer ${token}`;
    try {
      const response = await this.pool.request({
        method: "POST",
        path: this.url.pathname + this.url.search,
        headers,
        body,
        // The answer is one small JSON document: waiting for its headers, then for its body,
        // each bounded, is the per-call timeout (cheaper than an AbortSignal per call).
        headersTimeout: this.options.timeoutMs,
        bodyTimeout: this.options.timeoutMs,
      });
      const text = await response.body.text();
      const status = response.statusCode;
      if (status >= 200 && status < 300) return parseAnswer(status, text);
      if (status === 429 || status >= 500) {
        return {
          kind: "unknown",
          status,
          error: `HTTP ${status}: ${errorMessage(text)}`,
          retryAfterMs: retryAfter(response.headers["retry-after"]),
        };
      }
      return {
        kind: "answer",
        outcome: "REJECTED",
        status,
        chargeId: null,
        error: `HTTP ${status}: ${errorMessage(text)}`,
      };
    } catch (error) {
      const code = (error as { code?: string }).code;
      const reason =
        code === "UND_ERR_HEADERS_TIMEOUT" || code === "UND_ERR_BODY_TIMEOUT"
          ? `no answer within ${this.options.timeoutMs} ms`
          : describe(error);
      return { kind: "unknown", status: null, error: reason, retryAfterMs: undefined };
    }
  }
}

/** Providers written for the original challenge send `result` as a boolean or as "true"/"false". */
function parseAnswer(status: number, text: string): CallResult {
  let body: { result?: unknown; charge_id?: unknown };
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    return { kind: "unknown", status, error: "answer is not JSON", retryAfterMs: undefined };
  }
  const result = body?.result;
  const paid =
    result === true || result === "true"
      ? true
      : result === false || result === "false"
        ? false
        : undefined;
  if (paid === undefined) {
    return {
      kind: "unknown",
      status,
      error: "answer has no boolean result",
      retryAfterMs: undefined,
    };
  }
  const chargeId = typeof body.charge_id === "string" ? body.charge_id.slice(0, 200) : null;
  return { kind: "answer", outcome: paid ? "PAID" : "DECLINED", status, chargeId, error: null };
}

/** Exponential backoff with full jitter, never shorter than what the provider asked for. */
function backoff(retry: number, retryAfterMs: number | undefined): number {
  const jittered = Math.random() * Math.min(MAX_BACKOFF_MS, 100 * 2 ** retry);
  return Math.max(jittered, Math.min(retryAfterMs ?? 0, MAX_RETRY_AFTER_MS));
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
