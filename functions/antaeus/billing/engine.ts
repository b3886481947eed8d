import { setTimeout as sleep } from "node:timers/promises";
import type { Logger, Sql } from "../../runtime/index.js";
import { createDb, type Db } from "../data/database.js";
import { endLane, type LaneSlot, startLanes } from "../data/lanes.js";
import {
  type BillingRun,
  completeIfDone,
  countsOf,
  findRun,
  remainingOf,
  startOrJoinRun,
} from "../data/runs.js";
import type { Verdict } from "../domain/attempt.js";
import { periodOf } from "../domain/period.js";
import { providerRefusal } from "../domain/refusals.js";
import { COMPLETED, type PayTrigger, RUNNING } from "../domain/run.js";
import type { EventRelay } from "../events/relay.js";
import type { Clock } from "./clock.js";
import { Lane } from "./lane.js";
import type { LaneRequests } from "./lane-requests.js";
import { laneCount } from "./lanes.js";
import type { PaymentProvider } from "./provider.js";
import type { BillingSettings } from "./settings.js";
import { settle } from "./settle.js";

/** The least time a request spends delivering events (the outbox keeps what is left). */
const EVENTS_MIN_FLUSH_MS = 5_000;
/** How often a request waiting for its run looks at it: soon at first, then once a second. */
const WAIT_FIRST_MS = 100;
const WAIT_MAX_MS = 1_000;

export interface WorkResult {
  runId: number;
  /** True when the run is COMPLETED; false when it goes on in its lanes. */
  finished: boolean;
}

/**
 * Charges due invoices exactly once. Coordination lives in PostgreSQL: claims with SKIP LOCKED,
 * a PROCESSING lease that expires, and an Idempotency-Key per attempt that survives until the
 * provider gives a definitive answer. Work happens only inside requests: a run is worked by up to
 * BILLING_LANES lanes, each a chain of requests to the billing lanes' Knative Service, so the
 * autoscaler spreads them over pods (docs/billing.md, "Lanes"). A pay call, a joining tick or the
 * watchdog starts the lanes a run is missing and waits for the run, for at most its budget.
 */
export class BillingEngine {
  private readonly stopping = new AbortController();
  private readonly db: Db;

  constructor(
    private readonly deps: {
      sql: Sql;
      provider: PaymentProvider;
      lanes: LaneRequests;
      settings: BillingSettings;
      logger: Logger;
      /** Who signs the attempts this replica records. */
      worker: string;
      countVerdict: (outcome: Verdict["status"]) => void;
      /** 429s this replica's lanes met (metrics.ts). */
      countThrottled: () => void;
      /** Billing's "now": the month a run is due through, and when retries are due. */
      clock: Clock;
      /** Delivers the outbox's events at the end of every request that works on billing. */
      relay: EventRelay;
    },
  ) {
    this.db = createDb(deps.sql);
  }

  /** A pay call or the monthly CloudEvent: start or join the run, start its lanes, wait for it. */
  async trigger(
    trigger: PayTrigger,
    request: AbortSignal,
  ): Promise<{ run: BillingRun; created: boolean; work: WorkResult }> {
    const now = this.deps.clock();
    const started = await startOrJoinRun(this.deps.sql, trigger, periodOf(now), now);
    if (!started) throw new Error("a pay trigger always starts or joins a run");
    const { run, created } = started;
    if (run.status !== RUNNING) {
      this.deps.logger.info(
        { runId: run.id, trigger: trigger.kind },
        "nothing due: the latest run answers",
      );
      return { run, created, work: { runId: run.id, finished: true } };
    }
    this.deps.logger.info(
      { runId: run.id, created, trigger: trigger.kind, total: run.total },
      created ? "billing run started" : "joined billing run",
    );
    return { run, created, work: await this.resume(run, request) };
  }

  /**
   * The watchdog, with no run in progress: starts a run of the retries now due, if any, and works
   * on it. null when none is due.
   */
  async retryDue(request: AbortSignal): Promise<WorkResult | null> {
    const now = this.deps.clock();
    const started = await startOrJoinRun(this.deps.sql, { kind: "retry" }, periodOf(now), now);
    if (!started) return null;
    this.deps.logger.info(
      { runId: started.run.id, created: started.created, total: started.run.total },
      "billing run of due retries",
    );
    return this.resume(started.run, request);
  }

  /**
   * Starts the lanes the run is missing (never started, ended, or silent for a lease: their chain
   * broke), then waits for the run until this request's budget is spent, starting them again
   * each lease meanwhile. The run goes on in its lanes whether or not anyone waits.
   */
  async resume(run: BillingRun, request: AbortSignal): Promise<WorkResult> {
    const { settings } = this.deps;
    const deadline = performance.now() + settings.requestBudgetMs;
    const stop = AbortSignal.any([request, this.stopping.signal]);
    let current: BillingRun | undefined = run;
    let finished = false;
    for (let poll = 0, started = Number.NEGATIVE_INFINITY; ; poll++) {
      if (!current) throw new Error(`billing run ${run.id} vanished`);
      finished = current.status === COMPLETED;
      if (finished || stop.aborted || performance.now() >= deadline) break;
      if (performance.now() - started >= settings.leaseMs) {
        started = performance.now();
        await this.startMissingLanes(current);
      }
      const wait = Math.min(WAIT_FIRST_MS * 2 ** poll, WAIT_MAX_MS, deadline - performance.now());
      await sleep(Math.max(0, wait), undefined, { signal: stop }).catch(() => undefined);
      current = await findRun(this.db, run.id);
    }
    await this.deliverEvents(deadline);
    return { runId: run.id, finished };
  }

  /**
   * One lane's request: works the run in its slot until the run is done or the request's budget
   * is spent, then hands the lane on in a new request (with any of the run's lanes that went
   * silent) or ends it. A request whose slot another holds (a newer start) claims nothing.
   */
  async lane(runId: number, slot: LaneSlot, request: AbortSignal): Promise<WorkResult> {
    const { settings, logger } = this.deps;
    const deadline = performance.now() + settings.requestBudgetMs;
    const stop = AbortSignal.any([request, this.stopping.signal]);
    const lane = new Lane(
      {
        ...this.deps,
        settle: (invoice, gate) => settle(this.deps, invoice, gate),
      },
      runId,
      slot,
      deadline,
      stop,
    );
    const { finished, held, settled } = await lane.work();
    if (finished) {
      await endLane(this.deps.sql, { runId, ...slot, settled });
    } else if (held) {
      // Budget spent, caller gone, or this replica shutting down: the next link goes through
      // Knative, so it lands on a live pod. A failure above (database down) throws instead: no
      // hot loop of requests; the lanes are started again by the next pay call or the watchdog.
      await this.handOn(runId, slot, settled);
    }
    logger.info(
      { runId, lane: slot.lane, finished, held },
      finished ? "billing run completed" : "lane's request ends; the run goes on",
    );
    if (finished) await this.reportRefusals(runId);
    await this.deliverEvents(deadline);
    return { runId, finished };
  }

  /** A run the provider refused is a configuration problem: said as an error, with what to check. */
  private async reportRefusals(runId: number): Promise<void> {
    const run = await findRun(this.db, runId);
    const refusal = run && providerRefusal(countsOf(run));
    if (refusal) this.deps.logger.error({ runId, ...refusal }, refusal.code);
  }

  /**
   * Delivers due events before the request answers: for what is left of its budget, and at least
   * EVENTS_MIN_FLUSH_MS, so a request that spent its budget still moves the outbox on.
   */
  async deliverEvents(deadline = performance.now()): Promise<void> {
    try {
      await this.deps.relay.flush(Math.max(deadline, performance.now() + EVENTS_MIN_FLUSH_MS));
    } catch (error) {
      // The outbox keeps them: the next request delivers them.
      this.deps.logger.warn({ err: error }, "delivering events failed");
    }
  }

  /** Shutdown has begun: lanes stop claiming and hand on; in-flight charges finish and are written. */
  stop(): void {
    this.stopping.abort();
  }

  /** The lanes the run wants and lacks, started; a run with nothing left is completed. */
  private async startMissingLanes(run: BillingRun): Promise<void> {
    const { sql, settings } = this.deps;
    const wanted = laneCount(remainingOf(run), settings.concurrency, settings.lanes);
    if (wanted === 0) {
      await completeIfDone(sql, run.id);
      return;
    }
    const slots = await startLanes(sql, { runId: run.id, wanted, staleMs: settings.leaseMs });
    for (const slot of slots) this.deps.lanes.start(run.id, slot);
  }

  /** A lane's budget is spent: the lanes the run still wants go on, this one among them. */
  private async handOn(runId: number, slot: LaneSlot, settled: number): Promise<void> {
    const { sql, settings } = this.deps;
    const run = await findRun(this.db, runId);
    if (!run) return;
    const wanted = laneCount(remainingOf(run), settings.concurrency, settings.lanes);
    const slots = await startLanes(sql, {
      runId,
      wanted,
      staleMs: settings.leaseMs,
      handingOver: { ...slot, settled },
    });
    for (const next of slots) this.deps.lanes.start(runId, next);
  }
}
