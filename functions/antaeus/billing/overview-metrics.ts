import { Gauge, type Registry } from "prom-client";
import type { Logger, Sql } from "../../runtime/index.js";
import { lanesOf, providerSnapshot } from "../data/lanes.js";
import { billingOverview } from "../data/overview.js";
import { LANE_STATES } from "../domain/run.js";
import { WAITING_FOR_PERSON } from "../domain/status.js";
import { currentRate } from "./provider-rate.js";

/**
 * Gauges read from the database at each scrape, so any replica (or the one woken to be scraped)
 * reports the whole system, and a run's progress survives the pod that made it. The alerts in
 * knative/observability rest on them:
 * - antaeus_billing_runs_running: 1 while a run is in progress
 * - antaeus_billing_run_invoices{state="done"|"total"}: the running run's progress (0 when none)
 * - antaeus_billing_last_scheduled_run_start_timestamp_seconds: the monthly run's last start
 * - antaeus_invoices_waiting_for_person{status}: invoices a person must settle
 * - antaeus_events_pending, antaeus_events_oldest_pending_timestamp_seconds: the outbox's backlog
 *   (a timestamp, not an age: the last value scraped before Antaeus scaled to zero still ages)
 * - antaeus_billing_lanes{state}: the running run's lanes by state (docs/billing.md, "Lanes")
 * - antaeus_billing_provider_calls_per_second{kind}: the provider's rate: `limit` (when one is
 *   set), `allowed` (what AIMD allows now) and `made` (what the working lanes report)
 */
export function registerOverviewMetrics(
  registry: Registry,
  sql: Sql,
  logger: Logger,
  providerRateLimit: number | undefined,
): void {
  // One read serves every gauge: a scrape asks every metric at once (Registry.metrics), so
  // the first collect reads and the others share its answer.
  let pending: Promise<void> | undefined;
  const collect = () => {
    pending ??= Promise.all([billingOverview(sql), providerSnapshot(sql)])
      .then(async ([overview, provider]) => {
        const runLanes = overview.running ? await lanesOf(sql, overview.running.id) : [];
        for (const state of LANE_STATES) {
          lanes.set({ state }, runLanes.filter((lane) => lane.state === state).length);
        }
        rate.reset();
        if (providerRateLimit !== undefined) rate.set({ kind: "limit" }, providerRateLimit);
        const allowed = currentRate(providerRateLimit, provider);
        if (allowed !== undefined) rate.set({ kind: "allowed" }, allowed);
        const working = runLanes.filter((lane) => lane.state === "working");
        rate.set(
          { kind: "made" },
          working.reduce((sum, lane) => sum + lane.callsPerSecond, 0),
        );
        running.set(overview.running ? 1 : 0);
        progress.set({ state: "done" }, overview.running?.done ?? 0);
        progress.set({ state: "total" }, overview.running?.total ?? 0);
        lastScheduled.set(overview.lastScheduledStartSeconds);
        for (const status of WAITING_FOR_PERSON) waiting.set({ status }, overview.waiting[status]);
        eventsPending.set(overview.events.pending);
        oldestPendingEvent.set(overview.events.oldestPendingSeconds);
      })
      .catch((error: unknown) => {
        // The database is away: the last values stand (no run moves without it, and the stall
        // alert should say so) and the request metrics are still served.
        logger.warn({ err: error }, "billing gauges not read: database unavailable");
      })
      .finally(() => {
        pending = undefined;
      });
    return pending;
  };
  const running = new Gauge({
    name: "antaeus_billing_runs_running",
    help: "Billing runs in progress (at most 1)",
    registers: [registry],
    collect,
  });
  const progress = new Gauge({
    name: "antaeus_billing_run_invoices",
    help: "The running run's invoices: done (a verdict written) and total (0 when no run)",
    labelNames: ["state"] as const,
    registers: [registry],
    collect,
  });
  const lastScheduled = new Gauge({
    name: "antaeus_billing_last_scheduled_run_start_timestamp_seconds",
    help: "When the latest run started by the monthly schedule began (0 before the first)",
    registers: [registry],
    collect,
  });
  const lanes = new Gauge({
    name: "antaeus_billing_lanes",
    help: "The running run's lanes by state: starting, working, silent (stopped; started again after a lease), ended",
    labelNames: ["state"] as const,
    registers: [registry],
    collect,
  });
  const rate = new Gauge({
    name: "antaeus_billing_provider_calls_per_second",
    help: "Calls per second to the payment provider: limit (BILLING_PROVIDER_RATE_LIMIT), allowed (lower after a 429) and made (by the working lanes)",
    labelNames: ["kind"] as const,
    registers: [registry],
    collect,
  });
  const waiting = new Gauge({
    name: "antaeus_invoices_waiting_for_person",
    help: "Invoices billing will not charge again until a person settles them, by status",
    labelNames: ["status"] as const,
    registers: [registry],
    collect,
  });
  const eventsPending = new Gauge({
    name: "antaeus_events_pending",
    help: "CloudEvents in the outbox the sink has not acknowledged yet",
    registers: [registry],
    collect,
  });
  const oldestPendingEvent = new Gauge({
    name: "antaeus_events_oldest_pending_timestamp_seconds",
    help: "When the oldest event the sink has not acknowledged was written (0 when none)",
    registers: [registry],
    collect,
  });
}
