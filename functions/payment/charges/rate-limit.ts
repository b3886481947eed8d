/**
 * The provider's own rate limit (PAYMENT_RATE_LIMIT), as real providers keep one per merchant and
 * answer 429 above it: the generic cell rate algorithm, a token bucket kept as one number, the
 * theoretical arrival time of the next call. Calls may come at `rate` a second, and up to `burst`
 * at once after a pause. A refused call changes nothing: it was not made.
 */
export interface RateLimit {
  /** Calls per second. */
  rate: number;
  /** Calls that may arrive together. */
  burst: number;
}

/** A tenth of a second's calls may arrive together, as a real provider's limiter tolerates. */
export const burstOf = (rate: number): number => Math.max(1, Math.round(rate / 10));

export type Admission = { admitted: true; tat: number } | { admitted: false; retryAfterMs: number };

/** Whether a call arriving at `now` (ms) is within the limit, given the bucket's `tat`. */
export function admit(limit: RateLimit, tat: number, now: number): Admission {
  const interval = 1000 / limit.rate;
  const tolerance = (limit.burst - 1) * interval;
  const next = Math.max(tat, now);
  if (next - now > tolerance) return { admitted: false, retryAfterMs: next - tolerance - now };
  return { admitted: true, tat: next + interval };
}

/** One replica's limiter (payment is the stand-in of one provider; locally it runs once). */
export function rateLimiter(
  limit: RateLimit | undefined,
  now: () => number = () => performance.now(),
) {
  let tat = Number.NEGATIVE_INFINITY;
  return {
    /** undefined: go ahead; else how long the caller should wait before trying again. */
    refuse(): number | undefined {
      if (!limit) return undefined;
      const admission = admit(limit, tat, now());
      if (!admission.admitted) return admission.retryAfterMs;
      tat = admission.tat;
      return undefined;
    },
  };
}

export type RateLimiter = ReturnType<typeof rateLimiter>;
