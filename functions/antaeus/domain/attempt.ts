import type { DunningState } from "./dunning.js";
import { OUTCOMES, type Outcome } from "./status.js";

/**
 * What one attempt row says happened: an outcome, or for a call that settled nothing, UNKNOWN (no
 * sure answer; it was retried) or NOT_SENT (the request never left: nothing can have been charged).
 */
export const ATTEMPT_OUTCOMES = [...OUTCOMES, "UNKNOWN", "NOT_SENT"] as const;
export type AttemptOutcome = (typeof ATTEMPT_OUTCOMES)[number];

/** One call to the provider, or one verdict reached without calling it. */
export interface AttemptRecord {
  invoiceId: number;
  attemptNumber: number;
  idempotencyKey: string | null;
  outcome: AttemptOutcome;
  httpStatus: number | null;
  latencyMs: number;
  chargeId: string | null;
  error: string | null;
  attemptedAt: Date;
  /** 0: the invoice's charge; n: the n-th scheduled retry. */
  retry: number;
  declineReason: string | null;
}

/** A worker's decision on one claimed invoice, with the attempts that led to it. */
export interface Verdict {
  invoiceId: number;
  /** The key the invoice was claimed with: a verdict from a worker that lost its claim is void. */
  attemptKey: string;
  /** The invoice's amount in minor units, as the events the verdict raises carry it. */
  amountMinor: bigint;
  status: Outcome;
  /** True when the outcome is unknown (NETWORK_ERROR): the next attempt must reuse the key. */
  keepKey: boolean;
  calls: number;
  attempts: AttemptRecord[];
  /** Which retry this verdict ends (0: none). */
  retry: number;
  /** A decline's reason, for the payment-failed event; null otherwise or when none was given. */
  declineReason: string | null;
  /** The invoice's dunning state from now on; undefined leaves it as it was. */
  dunning: DunningState | undefined;
}
