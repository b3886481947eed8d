import { setTimeout as sleep } from "node:timers/promises";
import type { Pool } from "undici";
import type { AttemptRecord } from "../domain/attempt.js";
import type { ClaimedInvoice } from "../domain/claim.js";
import { MAX_ANSWER_BYTES } from "./answer.js";
import { backoff } from "./backoff.js";
import {
  answeredCall,
  attemptOutcome,
  type CallResult,
  chargeEnd,
  describe,
  failedCall,
  notSent,
  type ProviderOutcome,
} from "./call-result.js";
import { wireRequest } from "./dialect.js";
import { post } from "./post.js";
import type { Dialect } from "./settings.js";
import type { TokenFile } from "./token-file.js";

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
      calls.push({
        invoiceId: invoice.id,
        attemptNumber: invoice.attempts + calls.length + 1,
        idempotencyKey: key,
        outcome: attemptOutcome(result, this.options.idempotent),
        httpStatus: result.status,
        latencyMs: Math.round(performance.now() - started),
        chargeId: result.kind === "answer" ? result.chargeId : null,
        error: result.error,
        attemptedAt,
        retry: invoice.dunning.declines,
        declineReason: result.kind === "answer" ? result.declineReason : null,
      });
      const outcome = chargeEnd(result, retry, this.options);
      if (outcome !== undefined) {
        const declineReason = result.kind === "answer" ? result.declineReason : null;
        return { outcome, calls, declineReason };
      }
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
    const limits = { deadlineMs: this.options.timeoutMs, maxBytes: MAX_ANSWER_BYTES };
    const sent = await post(
      await this.connections(),
      this.url.pathname + this.url.search,
      headers,
      body,
      limits,
    );
    return sent.kind === "failed" ? failedCall(sent, limits) : answeredCall(sent);
  }
}
