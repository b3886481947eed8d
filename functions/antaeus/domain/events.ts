import type { RunTrigger } from "./run.js";
import { OUTCOME_COUNTERS, OUTCOMES, type Outcome } from "./status.js";

/**
 * The CloudEvents Antaeus publishes (docs/events.md; their data's JSON schemas are in
 * docs/events/). Types are reverse-DNS under antaeus.dev, one per fact a consumer acts on.
 */
export const EVENT_TYPES = {
  paid: "dev.antaeus.invoice.paid",
  /** Every decline: with its reason, and whether a retry is scheduled. */
  paymentFailed: "dev.antaeus.invoice.payment_failed",
  /** A verdict that leaves the invoice waiting for a person (WAITING_FOR_PERSON). */
  needsPerson: "dev.antaeus.invoice.needs_person",
  runCompleted: "dev.antaeus.billing.run_completed",
} as const;
export type EventType = (typeof EVENT_TYPES)[keyof typeof EVENT_TYPES];

/** A completed run's counters, as the row holds them: one column per outcome (OUTCOME_COUNTERS). */
export type RunCounters = {
  trigger: RunTrigger;
  total: number;
  retries: number;
  recovered: number;
} & { [O in Outcome as (typeof OUTCOME_COUNTERS)[O]]: number };

/** The run-completed event's data (docs/events/billing.run_completed.schema.json). */
export const runCompletedData = (runId: number, run: RunCounters) => ({
  runId,
  trigger: run.trigger,
  total: run.total,
  counts: Object.fromEntries(OUTCOMES.map((outcome) => [outcome, run[OUTCOME_COUNTERS[outcome]]])),
  retries: { done: run.retries, recovered: run.recovered },
});
