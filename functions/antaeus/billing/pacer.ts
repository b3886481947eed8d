/** What decides when a lane's next call to the provider may go (times are performance.now()). */
export interface PaceState {
  /** Calls per second this lane may make; undefined: no limit. */
  share: number | undefined;
  /** The share holds until then; after it, no call before the next grant. */
  validUntil: number;
  /** No call before then: a provider's Retry-After, for every lane. */
  pausedUntil: number;
  /** When the last call went. */
  lastCallAt: number;
}

/**
 * When the next call may go, or undefined when not under this grant. Calls are spaced at least
 * 1 / share apart, so within any one second a lane makes at most share + 1 calls, and every lane
 * together at most the rate + one call per lane (docs/billing.md, "Rate limit").
 */
export function nextCallAt(state: PaceState, now: number): number | undefined {
  const earliest = Math.max(now, state.pausedUntil);
  if (state.share === undefined) return earliest;
  if (state.share <= 0) return undefined;
  const at = Math.max(earliest, state.lastCallAt + 1000 / state.share);
  return at < state.validUntil ? at : undefined;
}

/** Raised to a caller waiting for a permit when the lane can grant no more (its database is gone). */
export class PacerClosed extends Error {
  constructor(reason: string) {
    super(`no permit to call the provider: ${reason}`);
  }
}

/**
 * A lane's permits to call the provider, first come first served: each caller waits for the
 * moment nextCallAt gives, and the grant it waits under is renewed by the lane's ticks.
 */
export class Pacer {
  private readonly state: PaceState;
  private readonly queue: Array<{ resolve: () => void; reject: (error: Error) => void }> = [];
  private timer: NodeJS.Timeout | undefined;
  private closed: Error | undefined;

  constructor(limited: boolean) {
    // A limited lane makes no call before its first grant.
    this.state = {
      share: limited ? 0 : undefined,
      validUntil: 0,
      pausedUntil: 0,
      lastCallAt: Number.NEGATIVE_INFINITY,
    };
  }

  /** Callers waiting for a permit. */
  get waiting(): number {
    return this.queue.length;
  }

  /** The share this lane holds now, in calls per second; undefined without a limit. */
  get share(): number | undefined {
    return this.state.share;
  }

  /** Resolves when this lane may make its next call; the call counts as made then. */
  permit(): Promise<void> {
    if (this.closed) return Promise.reject(this.closed);
    return new Promise((resolve, reject) => {
      this.queue.push({ resolve, reject });
      this.schedule();
    });
  }

  /** A new share (undefined: no limit) held for `validMs` from now. */
  grant(share: number | undefined, validMs: number): void {
    this.state.share = share;
    this.state.validUntil = performance.now() + validMs;
    this.schedule();
  }

  /**
   * At most `share` calls per second from now: a 429 slows this lane at once, before its next
   * grant says so. Without a limit so far, `share` holds for `validMs`.
   */
  limitTo(share: number, validMs: number): void {
    if (this.state.share === undefined) this.grant(share, validMs);
    else this.state.share = Math.min(this.state.share, share);
  }

  /**
   * No call for `ms` from now (a 429's Retry-After, here or seen by another lane). Returns how much
   * later than before calls may go again.
   */
  pause(ms: number): number {
    const until = performance.now() + ms;
    const extended = until - this.state.pausedUntil;
    this.state.pausedUntil = Math.max(this.state.pausedUntil, until);
    this.schedule();
    return extended;
  }

  /** Ends every wait with an error, now and for later callers. */
  close(reason: string): void {
    this.closed = new PacerClosed(reason);
    clearTimeout(this.timer);
    for (const waiter of this.queue.splice(0)) waiter.reject(this.closed);
  }

  private schedule(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    while (this.queue.length > 0) {
      const now = performance.now();
      const at = nextCallAt(this.state, now);
      if (at === undefined) return; // the next grant schedules again
      if (at > now) {
        this.timer = setTimeout(() => this.schedule(), Math.ceil(at - now));
        return;
      }
      this.state.lastCallAt = now;
      this.queue.shift()?.resolve();
    }
  }
}
