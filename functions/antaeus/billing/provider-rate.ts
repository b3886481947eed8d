/**
 * The provider's budget of calls per second, shared by every lane through one PostgreSQL row
 * (data/lanes.ts): the configured limit (BILLING_PROVIDER_RATE_LIMIT), lowered when the provider
 * answers 429 and raised again while it does not. Additive increase, multiplicative decrease, as
 * TCP shares a link: the decrease backs off fast enough to stop a storm of 429s, and the slow
 * increase probes back to the limit. docs/billing.md says why these factors.
 */
export interface RateState {
  /** Calls per second set by the last decrease; null when none has happened. */
  rate: number | null;
  /** Milliseconds since the last decrease, on the database's clock; null when none. */
  sinceDecreaseMs: number | null;
}

/** A 429 cuts the rate to this share of the rate that met it. */
export const DECREASE_FACTOR = 0.7;
/** While no 429 comes, the rate grows by this share of the limit each second. */
export const INCREASE_PER_SECOND = 0.05;
/** However many 429s come, lanes may still make this many calls per second between them. */
export const MIN_RATE = 1;

/**
 * The calls per second every lane together may make now: the limit, or after a 429 the lowered
 * rate plus what it has grown back since, never above the limit. undefined: no limit is set and
 * no 429 has come. Without a limit, the rate a 429 set grows by INCREASE_PER_SECOND of the rate
 * the 429 met.
 */
export function currentRate(limit: number | undefined, state: RateState): number | undefined {
  if (state.rate === null || state.sinceDecreaseMs === null) return limit;
  const base = limit ?? state.rate / DECREASE_FACTOR;
  const grown = state.rate + base * INCREASE_PER_SECOND * (state.sinceDecreaseMs / 1000);
  return limit === undefined ? grown : Math.min(limit, grown);
}

/** The rate after a 429 that met `met` calls per second. */
export const afterThrottle = (met: number): number => Math.max(MIN_RATE, met * DECREASE_FACTOR);

/** A lane's part of the rate: an equal part for each lane that holds one, itself included. */
export const fairShare = (rate: number, holders: number): number => rate / Math.max(1, holders);

/** The shared row as a lane read it, its time since the decrease counted to now. */
export interface SeenRate extends RateState {
  /** Lanes holding a share, the asking lane counted. */
  holders: number;
}

/**
 * The share a lane asks for in its tick (`want`, none without work) and the rate every lane's
 * shares together stay under (`cap`); undefined: it asks for none. A lane that has not read the
 * shared row yet asks for none: a 429 may have lowered the rate below the limit, and a share
 * asked at the limit would let the lanes together call above the lowered rate for as long as it
 * holds. It reads the row in that tick and asks in the next.
 */
export function shareRequest(
  limit: number | undefined,
  seen: SeenRate | undefined,
  hasWork: boolean,
): { want: number; cap: number } | undefined {
  if (!seen) return undefined;
  const cap = currentRate(limit, seen);
  if (cap === undefined) return undefined;
  return { want: hasWork ? fairShare(cap, seen.holders) : 0, cap };
}
