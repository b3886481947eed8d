import { setTimeout as sleep } from "node:timers/promises";
import type { Logger, Sql } from "../../runtime/index.js";
import { type LaneSlot, laneTick, type ProviderSnapshot, reportThrottle } from "../data/lanes.js";
import { completeIfDone } from "../data/runs.js";
import type { Verdict } from "../domain/attempt.js";
import type { ClaimedInvoice } from "../domain/claim.js";
import { claimSize } from "./claim-size.js";
import { Pacer } from "./pacer.js";
import type { CallGate } from "./provider.js";
import {
  afterThrottle,
  currentRate,
  fairShare,
  type SeenRate,
  shareRequest,
} from "./provider-rate.js";
import { RateMeter } from "./rate-meter.js";
import { type BillingSettings, MAX_RETRY_AFTER_MS } from "./settings.js";
import { VerdictWriter } from "./verdict-writer.js";

/** How often a lane with nothing to claim looks again while other lanes hold leases. */
const IDLE_POLL_MS = 200;
/** A lane ticks (heartbeat, report, share of the rate) at least this often. */
const TICK_MS = 1_000;
/**
 * A share holds for two ticks: one slow tick does not stop a lane's calls, and a lane that dies
 * frees its share within two seconds.
 */
const SHARE_VALID_MS = 2 * TICK_MS;
/** A lane whose calls wait without a share asks again this soon. */
const SHARE_RETRY_MS = 250;

export interface LaneDeps {
  sql: Sql;
  settings: BillingSettings;
  logger: Logger;
  /** Who signs the attempts and the lane's reports: host name and process id. */
  worker: string;
  /** One claimed invoice's verdict (settle.ts); never rejects. */
  settle: (invoice: ClaimedInvoice, gate: CallGate) => Promise<Verdict>;
  countVerdict: (outcome: Verdict["status"]) => void;
  countThrottled: () => void;
}

export interface LaneOutcome {
  /** The run is COMPLETED. */
  finished: boolean;
  /** The slot is still this request's: it hands the lane on, or ends it. */
  held: boolean;
  /** Verdicts reached since the lane's last report. */
  settled: number;
}

/**
 * One lane of a run, inside one request: keeps BILLING_CONCURRENCY charges in flight from a
 * batch claimed ahead (claim-size.ts), each call under a permit of the lane's share of the
 * provider's rate (pacer.ts), until the run is done, the request's budget is spent, the request
 * or the replica ends, or another request takes the slot over. Claiming stops then; what was
 * claimed is still charged and recorded before work() returns. Every claim is also a tick: the
 * lane's heartbeat and report, and its share, in one round trip (data/lanes.ts).
 */
export class Lane {
  private readonly ready: ClaimedInvoice[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private readonly pacer = new Pacer(true);
  private readonly invoices = new RateMeter();
  private readonly calls = new RateMeter();
  private readonly writer: VerdictWriter;
  private ticking: Promise<void> | undefined;
  private failure: unknown;
  private lastTickAt = Number.NEGATIVE_INFINITY;
  private held = true;
  /**
   * The last claim found nothing (others hold what is left, or the run is done): no claim of its
   * own before then. Ticks still look, so invoices a joining trigger adds are found within one.
   */
  private dryUntil = 0;
  private unreported = { settled: 0, throttled: 0 };
  /** The provider's shared rate as last read, and when (performance.now()). */
  private provider: { snapshot: ProviderSnapshot; at: number; runCalls: number } | undefined;
  /** This lane's last tick asked for a share (and so is among the snapshot's holders). */
  private asksShare = false;
  private reports: Promise<void> = Promise.resolve();
  private wake: (() => void) | undefined;

  constructor(
    private readonly deps: LaneDeps,
    private readonly runId: number,
    private readonly slot: LaneSlot,
    private readonly deadline: number,
    private readonly stop: AbortSignal,
  ) {
    // Verdicts wait up to two ticks to be written together: one round trip per two seconds
    // rather than per 50 ms. A verdict lost with its replica costs one more call under its key.
    this.writer = new VerdictWriter(deps.sql, runId, deps.worker, deps.logger, 2 * TICK_MS);
  }

  async work(): Promise<LaneOutcome> {
    const { settings } = this.deps;
    let finished = false;
    try {
      for (;;) {
        if (this.failure) throw this.failure;
        while (this.inFlight.size < settings.concurrency) {
          const next = this.ready.shift();
          if (!next) break;
          this.charge(next);
        }
        const open = this.held && !this.stop.aborted && performance.now() < this.deadline;
        if (!this.ticking) {
          const due = this.tickDue();
          const dry = performance.now() < this.dryUntil;
          const claim = open && (!dry || due) ? this.claimSize(due) : 0;
          if (claim > 0 || due) this.tick(claim);
        }
        if (this.inFlight.size > 0 || this.ticking) {
          await this.nap();
          continue;
        }
        if (this.ready.length > 0) continue;
        if (!open) break;
        await this.writer.flush();
        if (await completeIfDone(this.deps.sql, this.runId)) {
          finished = true;
          break;
        }
        // Others hold leases on what is left: look again shortly, in case one expires.
        await sleep(Math.min(IDLE_POLL_MS, Math.max(0, this.deadline - performance.now())));
        this.dryUntil = 0;
      }
    } finally {
      // Left with charges in flight only by a failure: none may wait for a share no tick renews.
      if (this.inFlight.size > 0) this.pacer.close("the lane stopped on an error");
      await Promise.allSettled([...this.inFlight, this.ticking]);
      await this.writer.flush();
      await this.reports;
    }
    return {
      finished: finished || (await completeIfDone(this.deps.sql, this.runId)),
      held: this.held,
      settled: this.unreported.settled,
    };
  }

  private claimSize(tickDue: boolean): number {
    return claimSize({
      tickDue,
      concurrency: this.deps.settings.concurrency,
      inFlight: this.inFlight.size,
      waiting: this.ready.length,
      idempotent: this.deps.settings.idempotent,
      pace: this.invoices.perSecond(),
    });
  }

  private charge(invoice: ClaimedInvoice): void {
    const gate: CallGate = {
      permit: () => this.pacer.permit().then(() => this.calls.add()),
      throttled: (retryAfterMs, sentAt) => this.throttled(retryAfterMs, sentAt),
    };
    const settled: Promise<void> = this.deps
      .settle(invoice, gate)
      .then((verdict) => {
        this.deps.countVerdict(verdict.status);
        this.writer.add(verdict);
        this.unreported.settled++;
        this.invoices.add();
      })
      .finally(() => {
        this.inFlight.delete(settled);
        this.wake?.();
      });
    this.inFlight.add(settled);
  }

  /** Due when a tick is a second old, or sooner while calls wait for a share. */
  private msUntilTick(): number {
    const since = performance.now() - this.lastTickAt;
    const starved = this.pacer.waiting > 0 && this.pacer.share === 0;
    return Math.max(0, (starved ? SHARE_RETRY_MS : TICK_MS) - since);
  }

  private tickDue(): boolean {
    return this.msUntilTick() === 0;
  }

  /** Until a charge ends, a tick ends, or the next tick is due. */
  private nap(): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, this.ticking ? TICK_MS : this.msUntilTick());
      this.wake = done;
    });
  }

  private tick(claim: number): void {
    this.ticking = this.doTick(claim)
      .catch((error: unknown) => {
        // The database is gone: no share can be renewed, so no call may wait for one.
        this.failure = error;
        this.pacer.close("the lane cannot reach its database");
      })
      .finally(() => {
        this.ticking = undefined;
        this.wake?.();
      });
  }

  private async doTick(claim: number): Promise<void> {
    const sentAt = performance.now();
    this.lastTickAt = sentAt;
    const hasWork = claim > 0 || this.ready.length > 0 || this.inFlight.size > 0;
    const request = shareRequest(this.deps.settings.providerRateLimit, this.seenRate(), hasWork);
    const share = request && { ...request, validMs: SHARE_VALID_MS };
    const report = {
      worker: this.deps.worker,
      ...this.unreported,
      invoicesPerSecond: this.invoices.perSecond() ?? 0,
      callsPerSecond: this.calls.perSecond() ?? 0,
    };
    this.unreported = { settled: 0, throttled: 0 };
    const result = await laneTick(this.deps.sql, {
      runId: this.runId,
      ...this.slot,
      claim,
      leaseMs: this.deps.settings.leaseMs,
      report,
      share,
    });
    const receivedAt = performance.now();
    if (this.held && !result.held) {
      this.deps.logger.info(
        { runId: this.runId, lane: this.slot.lane },
        "another request holds this lane now: stops claiming",
      );
    }
    this.held = result.held;
    this.ready.push(...result.invoices);
    if (claim > 0 && result.invoices.length === 0) this.dryUntil = receivedAt + TICK_MS;
    this.provider = {
      snapshot: result.provider,
      at: receivedAt,
      runCalls: result.runCallsPerSecond,
    };
    this.asksShare = (share?.want ?? 0) > 0;
    if (this.capNow() === undefined) this.pacer.grant(undefined, Number.POSITIVE_INFINITY);
    // Counted from when the tick left: the database's lapse is no earlier than that.
    else this.pacer.grant(result.share ?? 0, SHARE_VALID_MS - (receivedAt - sentAt));
    // A rate binds that this tick asked no share of (it was the lane's first read): ask at once.
    if (!share && this.capNow() !== undefined) this.lastTickAt = Number.NEGATIVE_INFINITY;
    // Another lane met a 429 with a Retry-After (this lane's own is already waited out).
    if (result.provider.pausedMs > 0 && this.pacer.pause(result.provider.pausedMs) > 100) {
      this.deps.logger.info(
        { runId: this.runId, lane: this.slot.lane, pausedMs: Math.round(result.provider.pausedMs) },
        "the provider answered a lane 429: every lane pauses",
      );
    }
  }

  /** The shared rate as last read, counted to now; undefined before the lane's first tick. */
  private seenRate(): SeenRate | undefined {
    if (!this.provider) return undefined;
    const { snapshot, at } = this.provider;
    const since =
      snapshot.sinceDecreaseMs === null
        ? null
        : snapshot.sinceDecreaseMs + (performance.now() - at);
    return { rate: snapshot.rate, sinceDecreaseMs: since, holders: this.holders() };
  }

  /** The rate every lane together may use now, from the last state read; undefined: no limit. */
  private capNow(): number | undefined {
    const limit = this.deps.settings.providerRateLimit;
    const seen = this.seenRate();
    return seen ? currentRate(limit, seen) : limit;
  }

  /** Lanes asking for a share, this one counted whether or not it asked last time. */
  private holders(): number {
    return (this.provider?.snapshot.holders ?? 0) + (this.asksShare ? 0 : 1);
  }

  /**
   * A 429: this lane pauses for its Retry-After and slows at once; the shared row makes every
   * other lane do the same at its next tick. A 429 to a call sent before this lane learned of the
   * last decrease belongs to the burst that decrease answered, and lowers nothing again.
   */
  private throttled(retryAfterMs: number | undefined, sentAt: number): void {
    this.unreported.throttled++;
    this.deps.countThrottled();
    const pauseMs = Math.min(retryAfterMs ?? 0, MAX_RETRY_AFTER_MS);
    if (pauseMs > 0) this.pacer.pause(pauseMs);
    const fresh = !this.provider || sentAt >= this.provider.at;
    if (!fresh && pauseMs === 0) return;
    let decrease: { seen: string | null; rate: number } | undefined;
    if (fresh) {
      const met = this.capNow() ?? (this.provider?.runCalls || this.calls.perSecond() || 1);
      decrease = { seen: this.provider?.snapshot.decreasedAt ?? null, rate: afterThrottle(met) };
      this.pacer.limitTo(fairShare(decrease.rate, this.holders()), SHARE_VALID_MS);
      if (this.provider) this.provider.at = performance.now();
    }
    this.reports = this.reports
      .then(() => reportThrottle(this.deps.sql, { decrease, pauseMs }))
      .then((snapshot) => {
        const runCalls = this.provider?.runCalls ?? 0;
        this.provider = { snapshot, at: performance.now(), runCalls };
      })
      .catch((error: unknown) => {
        this.deps.logger.warn({ err: error, runId: this.runId }, "a 429 could not be shared");
      });
  }
}
