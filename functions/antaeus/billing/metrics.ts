import { Counter, type Registry } from "prom-client";
import { OUTCOMES, type Outcome } from "../domain/status.js";

/** antaeus_billing_verdicts_total{outcome}: what billing concluded, invoice by invoice. */
export function verdictCounter(registry: Registry): (outcome: Outcome) => void {
  const counter = new Counter({
    name: "antaeus_billing_verdicts_total",
    help: "Invoices settled by billing runs, by outcome (NETWORK_ERROR: asked again next run; OUTCOME_UNKNOWN: waits for a person)",
    labelNames: ["outcome"] as const,
    registers: [registry],
  });
  // Every outcome shows from the start, at 0, so rates need no absent() guards.
  for (const outcome of OUTCOMES) counter.inc({ outcome }, 0);
  return (outcome) => counter.inc({ outcome });
}

/** antaeus_billing_provider_throttled_total: 429s the provider answered this replica's lanes. */
export function throttleCounter(registry: Registry): () => void {
  const counter = new Counter({
    name: "antaeus_billing_provider_throttled_total",
    help: "Calls the payment provider answered 429 (rate limited); each slows every lane (docs/billing.md)",
    registers: [registry],
  });
  return () => counter.inc();
}
