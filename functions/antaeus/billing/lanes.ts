/**
 * How many lanes a run can use. A lane is one chain of billing requests with
 * BILLING_CONCURRENCY charges in flight; Knative puts each on a pod of its own (docs/billing.md,
 * "Lanes"). A lane that cannot fill its slots would only cost a pod's start, so a run gets one
 * lane per `concurrency` invoices left, at most `maxLanes` (BILLING_LANES), and none once nothing
 * is left.
 */
export function laneCount(remaining: number, concurrency: number, maxLanes: number): number {
  if (remaining <= 0) return 0;
  return Math.min(maxLanes, Math.ceil(remaining / concurrency));
}
