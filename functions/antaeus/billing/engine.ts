import { setTimeout as sleep } from "node:timers/promises";
import type { Logger, Sql } from "../../runtime/index.js";
import { claimInvoices } from "../data/claims.js";
import { createDb } from "../data/database.js";
import { type BillingRun, completeIfDone, findRun, startOrJoinRun } from "../data/runs.js";
import type { Verdict } from "../domain/attempt.js";
import type { ClaimedInvoice } from "../domain/claim.js";
import { afterDecline, NOT_DUNNING } from "../domain/dunning.js";
import { periodOf } from "../domain/period.js";
import { providerRefusal } from "../domain/refusals.js";
import { type PayTrigger, RUNNING } from "../domain/run.js";
import { OUTCOMES, type Outcome } from "../domain/status.js";
import type { EventRelay } from "../events/relay.js";
import type { Clock } from "./clock.js";
import type { Continuations } from "./continuation.js";
import type { PaymentProvider } from "./provider.js";
import type { BillingSettings } from "./settings.js";
import { VerdictWriter } from "./verdict-writer.js";

/** How often a worker with nothing to claim looks again while other workers hold leases. */
const IDLE_POLL_MS = 200;
/** The least time a request spends delivering events (the outbox keeps what is left). */
const EVENTS_MIN_FLUSH_MS = 5_000;

export interface WorkResult {
  runId: number;
  /** True when the run is COMPLETED; false when it goes on in a continuation (or a peer). */
  finished: boolean;
}

/**
 * Charges due invoices exactly once. Coordination lives in PostgreSQL: claims with SKIP LOCKED,
 * a PROCESSING lease that expires, and an Idempotency-Key per attempt that survives until the
 * provider gives a definitive answer. Work happens only inside a request, for at most its budget.
 */
export class BillingEngine {
  private readonly stopping = new AbortController();

  constructor(
    private readonly deps: {
      sql: Sql;
      provider: PaymentProvider;
      continuations: Continuations;
      settings: BillingSettings;
      logger: Logger;
      /** Who signs the attempts this replica records. */
      worker: string;
      countVerdict: (outcome: Verdict["status"]) => void;
      /** Billing's "now": the month a run is due through, and when retries are due. */
      clock: Clock;
      /** Delivers the outbox's events at the end of every request that works on billing. */
      relay: EventRelay;
    },
  ) {}

  /** A pay call or the monthly CloudEvent: start or join the run, then work on it. */
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
    return { run, created, work: await this.work(run.id, request) };
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
    return this.work(started.run.id, request);
  }

  /** Work on a run until it is done or this request's budget is spent; hand on what is left. */
  async work(runId: number, request: AbortSignal): Promise<WorkResult> {
    const { settings, logger } = this.deps;
    const deadline = performance.now() + settings.requestBudgetMs;
    const stop = AbortSignal.any([request, this.stopping.signal]);
    const finished = await this.drain(runId, deadline, stop);
    // Budget spent, caller gone, or this replica shutting down: the next link goes through
    // Knative, so it lands on a live replica. A failure above (database down) throws instead:
    // no hot loop of continuations; the queued invoices wait for the next pay call.
    if (!finished) this.deps.continuations.start(runId);
    logger.info(
      { runId, finished },
      finished ? "billing run completed" : "billing request budget spent",
    );
    if (finished) await this.reportRefusals(runId);
    await this.deliverEvents(deadline);
    return { runId, finished };
  }

  /** A run the provider refused is a configuration problem: said as an error, with what to check. */
  private async reportRefusals(runId: number): Promise<void> {
    const run = await findRun(createDb(this.deps.sql), runId);
    const counts =
      run && (Object.fromEntries(OUTCOMES.map((o) => [o, run[o]])) as Record<Outcome, number>);
    const refusal = counts && providerRefusal(counts);
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

  /** Shutdown has begun: stop claiming; in-flight charges finish and their verdicts are written. */
  stop(): void {
    this.stopping.abort();
  }

  /**
   * Keeps `concurrency` charges in flight, with the next batch claimed ahead so a freed slot is
   * filled at once. Claiming stops at the deadline (or when the request or the replica ends);
   * what was claimed still gets charged and recorded before this returns.
   */
  private async drain(runId: number, deadline: number, stop: AbortSignal): Promise<boolean> {
    const { sql, settings } = this.deps;
    const writer = new VerdictWriter(sql, runId, this.deps.worker, this.deps.logger);
    const inFlight = new Set<Promise<void>>();
    const ready: ClaimedInvoice[] = [];
    // A claim costs a round trip whatever its size: claim a slot-full at a time, and the next
    // one while half of the last is still waiting.
    const batch = settings.concurrency;
    let claiming: Promise<void> | undefined;
    // The last claim found nothing: others hold what is left, or the run is done.
    let dry = false;
    let finished = false;
    // One wake-up for "a slot is free", not a race over every charge in flight.
    let wake: (() => void) | undefined;
    const slotFreed = () =>
      new Promise<void>((resolve) => {
        wake = resolve;
      });

    const charge = (invoice: ClaimedInvoice) => {
      // settle() never rejects: nothing here may leave a rejection unhandled and end the process.
      const settled: Promise<void> = this.settle(invoice)
        .catch((error: unknown) => this.lostCharge(invoice, error))
        .then((verdict) => {
          this.deps.countVerdict(verdict.status);
          writer.add(verdict);
        })
        .finally(() => {
          inFlight.delete(settled);
          wake?.();
        });
      inFlight.add(settled);
    };
    // With a provider that ignores keys, an invoice claimed but not yet charged when its worker
    // dies can only be given up on (OUTCOME_UNKNOWN): claim only what free slots take at once.
    const claimSize = () => (settings.idempotent ? batch : settings.concurrency - inFlight.size);
    const wantsClaim = () =>
      settings.idempotent ? ready.length < batch / 2 : ready.length === 0 && claimSize() > 0;
    const claim = () => {
      claiming = claimInvoices(sql, runId, claimSize(), settings.leaseMs)
        .then((claimed) => {
          ready.push(...claimed);
          dry = claimed.length === 0;
        })
        .finally(() => {
          claiming = undefined;
        });
    };

    try {
      for (;;) {
        while (inFlight.size < settings.concurrency) {
          const next = ready.shift();
          if (!next) break;
          charge(next);
        }
        const open = !stop.aborted && performance.now() < deadline;
        if (open && !claiming && !dry && wantsClaim()) claim();
        if (inFlight.size > 0 || claiming) {
          await (claiming ? Promise.race([slotFreed(), claiming]) : slotFreed());
          continue;
        }
        if (ready.length > 0) continue;
        if (!open) break;
        await writer.flush();
        if (await completeIfDone(sql, runId)) {
          finished = true;
          break;
        }
        // Others hold leases on what is left: look again shortly, in case one expires.
        await sleep(Math.min(IDLE_POLL_MS, Math.max(0, deadline - performance.now())));
        dry = false;
      }
    } finally {
      await Promise.allSettled([...inFlight, claiming]);
      await writer.flush();
    }
    return finished || (await completeIfDone(sql, runId));
  }

  private async settle(invoice: ClaimedInvoice): Promise<Verdict> {
    // An attempt with an unknown outcome is resolved before anything else: same key, same body,
    // when the provider honours keys. When it does not, asking again could charge twice.
    if (invoice.reconciling && !this.deps.settings.idempotent) {
      return this.withoutCall(
        invoice,
        "OUTCOME_UNKNOWN",
        "an earlier attempt's outcome is unknown (its worker stopped, or its verdict was not recorded) and the provider ignores Idempotency-Key: not sent again",
      );
    }
    if (!invoice.reconciling) {
      if (invoice.customerCurrency === null)
        return this.withoutCall(
          invoice,
          "CUSTOMER_NOT_FOUND",
          `customer ${invoice.customerId} does not exist`,
        );
      if (invoice.customerCurrency !== invoice.currency) {
        return this.withoutCall(
          invoice,
          "CURRENCY_MISMATCH",
          `invoice in ${invoice.currency}, customer pays in ${invoice.customerCurrency}`,
        );
      }
    }
    const result = await this.deps.provider.charge(invoice);
    const verdict = {
      invoiceId: invoice.id,
      attemptKey: invoice.attemptKey,
      // Only a provider that honours keys can be asked again about the same attempt.
      keepKey: result.outcome === "NETWORK_ERROR" && this.deps.settings.idempotent,
      calls: result.calls.length,
      attempts: result.calls,
      retry: invoice.dunning.declines,
      declineReason: result.declineReason,
    };
    if (result.outcome === "PAID") return { ...verdict, status: "PAID", dunning: NOT_DUNNING };
    if (result.outcome === "DECLINED") {
      const next = afterDecline(
        this.deps.settings.retrySchedule,
        invoice.dunning,
        result.declineReason,
        this.deps.clock(),
      );
      return { ...verdict, status: next.status, dunning: next.dunning };
    }
    // No definite answer (or a refusal): the cycle stands; a due retry stays due.
    return { ...verdict, status: result.outcome, dunning: undefined };
  }

  /**
   * A charge that threw (a bug, not a provider's answer): whatever was sent is unknown. Keep the
   * key for a provider that honours it; otherwise the invoice waits for a person.
   */
  private lostCharge(invoice: ClaimedInvoice, error: unknown): Verdict {
    this.deps.logger.error({ err: error, invoiceId: invoice.id }, "charge failed unexpectedly");
    const message = `charge failed unexpectedly: ${error instanceof Error ? error.message : String(error)}`;
    if (!this.deps.settings.idempotent)
      return this.withoutCall(invoice, "OUTCOME_UNKNOWN", message);
    return { ...this.withoutCall(invoice, "NETWORK_ERROR", message), keepKey: true };
  }

  private withoutCall(
    invoice: ClaimedInvoice,
    status: "CUSTOMER_NOT_FOUND" | "CURRENCY_MISMATCH" | "OUTCOME_UNKNOWN" | "NETWORK_ERROR",
    error: string,
  ): Verdict {
    return {
      invoiceId: invoice.id,
      attemptKey: invoice.attemptKey,
      status,
      keepKey: false,
      calls: 0,
      retry: invoice.dunning.declines,
      declineReason: null,
      dunning: undefined,
      attempts: [
        {
          invoiceId: invoice.id,
          attemptNumber: invoice.attempts + 1,
          idempotencyKey: null,
          outcome: status,
          httpStatus: null,
          latencyMs: 0,
          chargeId: null,
          error,
          attemptedAt: new Date(),
          retry: invoice.dunning.declines,
          declineReason: null,
        },
      ],
    };
  }
}
