/** Seconds of history a meter averages over. */
const WINDOW_S = 5;

/**
 * Events per second over the last few seconds (invoices settled, calls made), for a lane's report
 * and its claim size: per-second buckets, so it costs the same at 10 or 10,000 a second.
 */
export class RateMeter {
  private readonly buckets = new Array<number>(WINDOW_S).fill(0);
  private current: number;
  private readonly started: number;

  constructor(private readonly now: () => number = () => performance.now()) {
    this.started = now();
    this.current = Math.floor(this.started / 1000);
  }

  add(n = 1): void {
    this.roll();
    const bucket = this.current % WINDOW_S;
    this.buckets[bucket] = (this.buckets[bucket] ?? 0) + n;
  }

  /** Per second over the whole seconds seen (at most WINDOW_S); undefined before the first. */
  perSecond(): number | undefined {
    this.roll();
    const seconds = Math.min(WINDOW_S - 1, Math.floor((this.now() - this.started) / 1000));
    if (seconds < 1) return undefined;
    // The running second is partial: the whole ones before it make the figure.
    let sum = 0;
    for (let s = 1; s <= seconds; s++) sum += this.buckets[(this.current - s) % WINDOW_S] ?? 0;
    return sum / seconds;
  }

  private roll(): void {
    const second = Math.floor(this.now() / 1000);
    for (let s = this.current + 1; s <= Math.min(second, this.current + WINDOW_S); s++) {
      this.buckets[s % WINDOW_S] = 0;
    }
    this.current = second;
  }
}
