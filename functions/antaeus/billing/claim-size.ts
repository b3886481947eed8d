/** How long a claimed batch keeps a lane busy at its own pace: one claim's round trip per this. */
export const CLAIM_AHEAD_MS = 2_000;
/**
 * The most one claim takes, whatever the pace: bounds a request's memory, what a lane that dies
 * leaves waiting for its lease to expire, and the invoices PROCESSING at once, which a verdict
 * statement may have to scan (at 2,000 invoices a second, claims of 1,000 made `npm run bench`
 * twice as slow as claims of 128).
 */
export const MAX_CLAIM = 128;

/** What a lane holds when it decides whether to claim. */
export interface LaneLoad {
  /** Charges in flight at most (BILLING_CONCURRENCY). */
  concurrency: number;
  inFlight: number;
  /** Claimed, waiting for a slot. */
  waiting: number;
  /** Whether the provider answers a repeated Idempotency-Key with the first outcome. */
  idempotent: boolean;
  /** Invoices this lane settled per second lately; undefined before it has settled any. */
  pace: number | undefined;
  /** The lane's periodic tick goes now anyway: a claim riding on it costs no round trip. */
  tickDue: boolean;
}

/**
 * How many invoices a lane claims now (0: not now). A claim costs a round trip whatever its size,
 * so a lane claims ahead: when fewer than half a batch wait, the next batch, sized to keep it busy
 * for CLAIM_AHEAD_MS at its pace and never smaller than its slots. A freed slot is then filled at
 * once, and at 40 invoices a second a lane claims about once a second, not five times. A tick the
 * lane sends anyway (its heartbeat, data/lanes.ts) tops what waits up to a batch: the claim rides
 * on it, and the next claim of its own is later.
 *
 * With a provider that ignores keys an invoice claimed but not yet sent when its worker dies can
 * only be given up (OUTCOME_UNKNOWN, docs/billing.md): such a lane claims only what its free slots
 * take at once, and only when none wait.
 */
export function claimSize(load: LaneLoad): number {
  if (!load.idempotent) {
    const free = load.concurrency - load.inFlight;
    return load.waiting === 0 && free > 0 ? free : 0;
  }
  const ahead = Math.ceil(((load.pace ?? 0) * CLAIM_AHEAD_MS) / 1000);
  const batch = Math.min(MAX_CLAIM, Math.max(load.concurrency, ahead));
  if (load.tickDue) return Math.max(0, batch - load.waiting);
  return load.waiting < batch / 2 ? batch : 0;
}
