import type { AttemptOutcome } from "../domain/attempt.js";
import type { Outcome } from "../domain/status.js";
import { decodeBody, getBoolean } from "./answer.js";
import type { Posted } from "./post.js";

/** What one call to the provider came to. */
export type CallResult =
  | {
      kind: "answer";
      outcome: "PAID" | "DECLINED" | "REJECTED";
      status: number;
      chargeId: string | null;
      error: string | null;
      declineReason: string | null;
      /** An answer is never asked again. */
      retryAfterMs?: undefined;
    }
  /** The request may have reached the provider: it may have charged. */
  | { kind: "unknown"; status: number | null; error: string; retryAfterMs: number | undefined }
  /** Nothing left this process (no connection, no token): nothing can have been charged. */
  | { kind: "not-sent"; status: null; error: string; retryAfterMs: undefined };

const unknown = (status: number | null, error: string, retryAfterMs?: number): CallResult => ({
  kind: "unknown",
  status,
  error,
  retryAfterMs,
});

export const notSent = (error: string): CallResult => ({
  kind: "not-sent",
  status: null,
  error,
  retryAfterMs: undefined,
});

/**
 * A POST that got no whole answer: unknown once the request was written (the provider may have
 * acted on it), not sent before that.
 */
export function failedCall(
  failed: Extract<Posted, { kind: "failed" }>,
  limits: { deadlineMs: number; maxBytes: number },
): CallResult {
  const reason = failed.expired
    ? failed.written
      ? `no answer within ${limits.deadlineMs} ms`
      : `not sent within ${limits.deadlineMs} ms (no connection)`
    : failed.tooLarge
      ? `answer larger than ${limits.maxBytes} bytes`
      : describe(failed.error);
  return failed.written ? unknown(null, reason) : notSent(reason);
}

/**
 * A whole answer: a 2xx is read for its result; a 429 or 5xx is unknown (retried under the same
 * key where keys are honoured, a 429 slowing every lane); any other status is the provider
 * refusing the request (REJECTED), never retried.
 */
export function answeredCall(
  answer: Extract<Posted, { kind: "response" }>,
  now: number = Date.now(),
): CallResult {
  const { status } = answer;
  let text: string;
  try {
    text = decodeBody(answer.bytes, answer.headers["content-encoding"]);
  } catch (error) {
    return unknown(status, `answer could not be decoded: ${describe(error)}`);
  }
  if (status >= 200 && status < 300) return parseAnswer(status, text);
  if (status === 429 || status >= 500) {
    return unknown(
      status,
      `HTTP ${status}: ${errorMessage(text)}`,
      retryAfter(answer.headers["retry-after"], now),
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

/** Retry-After in seconds or as an HTTP date, in milliseconds from `now`; undefined when unreadable. */
function retryAfter(header: string | undefined, now: number): number | undefined {
  if (!header) return undefined;
  if (/^\d+$/.test(header)) return Number(header) * 1_000;
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
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

export function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: string }).code;
  return (code ? `${code}: ` : "") + error.message.slice(0, 300);
}

/** The outcomes a charge through the provider can end in (the rest are reached without a call). */
export type ProviderOutcome = Extract<
  Outcome,
  "PAID" | "DECLINED" | "REJECTED" | "NETWORK_ERROR" | "OUTCOME_UNKNOWN"
>;

/**
 * How a call ends the charge, or undefined when it is to be tried again: an answer ends it; an
 * unknown outcome ends it OUTCOME_UNKNOWN where the provider ignores keys (asking again could
 * charge twice); otherwise it is tried again until `retries` retries are spent (NETWORK_ERROR).
 */
export function chargeEnd(
  result: CallResult,
  retry: number,
  policy: { idempotent: boolean; retries: number },
): ProviderOutcome | undefined {
  if (result.kind === "answer") return result.outcome;
  if (result.kind === "unknown" && !policy.idempotent) return "OUTCOME_UNKNOWN";
  if (retry >= policy.retries) return "NETWORK_ERROR";
  return undefined;
}

/** The attempt row's outcome for a call: UNKNOWN where it is asked again, OUTCOME_UNKNOWN where not. */
export function attemptOutcome(result: CallResult, idempotent: boolean): AttemptOutcome {
  if (result.kind === "answer") return result.outcome;
  if (result.kind === "not-sent") return "NOT_SENT";
  return idempotent ? "UNKNOWN" : "OUTCOME_UNKNOWN";
}
