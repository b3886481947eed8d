import { Counter, type Registry } from "prom-client";

export type ChargeMetricOutcome = "succeeded" | "declined" | "replayed" | "unavailable";

/** payment_charges_total{outcome}: what the provider answered to charge requests. */
export function chargeCounter(registry: Registry) {
  const counter = new Counter({
    name: "payment_charges_total",
    help: "Charge requests answered, by outcome (replayed: an idempotent repeat, nothing charged)",
    labelNames: ["outcome"] as const,
    registers: [registry],
  });
  // Every outcome shows from the start, at 0, so rates need no absent() guards.
  for (const outcome of ["succeeded", "declined", "replayed", "unavailable"] as const) {
    counter.inc({ outcome }, 0);
  }
  return (outcome: ChargeMetricOutcome) => counter.inc({ outcome });
}
