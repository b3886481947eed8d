import { Counter, type Registry } from "prom-client";

const OUTCOMES = ["succeeded", "declined", "replayed", "unavailable", "rate_limited"] as const;
export type ChargeMetricOutcome = (typeof OUTCOMES)[number];

/** payment_charges_total{outcome}: what the provider answered to charge requests. */
export function chargeCounter(registry: Registry) {
  const counter = new Counter({
    name: "payment_charges_total",
    help: "Charge requests answered, by outcome (replayed: an idempotent repeat, nothing charged; rate_limited: 429, not made)",
    labelNames: ["outcome"] as const,
    registers: [registry],
  });
  // Every outcome shows from the start, at 0, so rates need no absent() guards.
  for (const outcome of OUTCOMES) counter.inc({ outcome }, 0);
  return (outcome: ChargeMetricOutcome) => counter.inc({ outcome });
}
