import { setTimeout as sleep } from "node:timers/promises";
import type { Logger, Sql } from "../../runtime/index.js";
import { recordVerdicts } from "../data/verdicts.js";
import type { Verdict } from "../domain/attempt.js";

const BATCH = 250;
const RETRY_DELAYS_MS = [100, 500, 2_000];

/**
 * Collects verdicts and writes them in batches: one statement per batch instead of several round
 * trips per invoice. A batch that cannot be written after retries is dropped on purpose: its
 * invoices stay PROCESSING with their keys, and whoever takes them after the lease expires asks
 * the provider again under the same key, which answers with the outcome it already recorded.
 */
export class VerdictWriter {
  private buffer: Verdict[] = [];
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly sql: Sql,
    private readonly runId: number,
    private readonly worker: string,
    private readonly logger: Logger,
    /** How long a verdict may wait for others to share its round trip. */
    private readonly lingerMs: number,
  ) {}

  add(verdict: Verdict): void {
    this.buffer.push(verdict);
    if (this.buffer.length >= BATCH) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.lingerMs);
  }

  /** Starts writing what is buffered; resolves when everything handed in so far is written. */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.buffer;
    this.buffer = [];
    if (batch.length > 0) this.writing = this.writing.then(() => this.write(batch));
    return this.writing;
  }

  private async write(batch: Verdict[]): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        const applied = await recordVerdicts(this.sql, this.runId, batch, this.worker);
        if (applied < batch.length) {
          this.logger.info(
            { runId: this.runId, stale: batch.length - applied },
            "verdicts for invoices another worker took over were not applied",
          );
        }
        return;
      } catch (error) {
        const delay = RETRY_DELAYS_MS[attempt];
        if (delay === undefined) {
          this.logger.error(
            { err: error, runId: this.runId, invoices: batch.length },
            "could not record verdicts; leases will expire and the invoices will be reconciled",
          );
          return;
        }
        this.logger.warn(
          { err: error, runId: this.runId, retryInMs: delay },
          "recording verdicts failed; retrying",
        );
        await sleep(delay);
      }
    }
  }
}
