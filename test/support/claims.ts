import { laneTick, startLanes } from "../../functions/antaeus/data/lanes.js";
import { startOrJoinRun } from "../../functions/antaeus/data/runs.js";
import type { Verdict } from "../../functions/antaeus/domain/attempt.js";
import type { ClaimedInvoice } from "../../functions/antaeus/domain/claim.js";
import { NOT_DUNNING } from "../../functions/antaeus/domain/dunning.js";
import type { Sql } from "../../functions/runtime/index.js";

/**
 * Starts a run of every due invoice and claims up to `count` of them through one lane, as that
 * lane's first tick does for `worker`: what a worker holds before it records verdicts.
 */
export async function claimThroughOneLane(sql: Sql, count: number, worker: string) {
  const started = await startOrJoinRun(
    sql,
    { kind: "api", chargeNow: true },
    "2026-12-01",
    new Date(),
  );
  const runId = started!.run.id;
  const [slot] = await startLanes(sql, { runId, wanted: 1, staleMs: 60_000 });
  const { invoices } = await laneTick(sql, {
    ...slot!,
    runId,
    claim: count,
    leaseMs: 60_000,
    report: { worker, settled: 0, throttled: 0, invoicesPerSecond: 0, callsPerSecond: 0 },
    share: undefined,
  });
  return { runId, invoices };
}

/** The verdict a lane records for a claimed invoice the provider charged on the first try. */
export const paidVerdict = (invoice: ClaimedInvoice): Verdict => ({
  invoiceId: invoice.id,
  attemptKey: invoice.attemptKey,
  amountMinor: invoice.amountMinor,
  status: "PAID",
  keepKey: false,
  calls: 1,
  retry: 0,
  declineReason: null,
  dunning: NOT_DUNNING,
  attempts: [
    {
      invoiceId: invoice.id,
      attemptNumber: 1,
      idempotencyKey: invoice.attemptKey,
      outcome: "PAID",
      httpStatus: 200,
      latencyMs: 5,
      chargeId: `ch_${invoice.id}`,
      error: null,
      attemptedAt: new Date(),
      retry: 0,
      declineReason: null,
    },
  ],
});
