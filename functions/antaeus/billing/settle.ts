import type { Logger } from "../../runtime/index.js";
import type { Verdict } from "../domain/attempt.js";
import type { ClaimedInvoice } from "../domain/claim.js";
import { afterDecline, NOT_DUNNING } from "../domain/dunning.js";
import type { Clock } from "./clock.js";
import type { CallGate, PaymentProvider } from "./provider.js";
import type { BillingSettings } from "./settings.js";

export interface SettleDeps {
  provider: PaymentProvider;
  settings: BillingSettings;
  logger: Logger;
  /** Billing's "now": when a soft decline's retry is due. */
  clock: Clock;
}

/**
 * One claimed invoice's verdict: the provider's answer, or one reached without a call. Never
 * rejects: a charge that throws (a bug) becomes a verdict too, so nothing leaves an unhandled
 * rejection to end the process.
 */
export function settle(
  deps: SettleDeps,
  invoice: ClaimedInvoice,
  gate: CallGate,
): Promise<Verdict> {
  return decide(deps, invoice, gate).catch((error: unknown) => lostCharge(deps, invoice, error));
}

async function decide(deps: SettleDeps, invoice: ClaimedInvoice, gate: CallGate): Promise<Verdict> {
  // An attempt with an unknown outcome is resolved before anything else: same key, same body,
  // when the provider honours keys. When it does not, asking again could charge twice.
  if (invoice.reconciling && !deps.settings.idempotent) {
    return withoutCall(
      invoice,
      "OUTCOME_UNKNOWN",
      "an earlier attempt's outcome is unknown (its worker stopped, or its verdict was not recorded) and the provider ignores Idempotency-Key: not sent again",
    );
  }
  if (!invoice.reconciling) {
    if (invoice.customerCurrency === null)
      return withoutCall(
        invoice,
        "CUSTOMER_NOT_FOUND",
        `customer ${invoice.customerId} does not exist`,
      );
    if (invoice.customerCurrency !== invoice.currency) {
      return withoutCall(
        invoice,
        "CURRENCY_MISMATCH",
        `invoice in ${invoice.currency}, customer pays in ${invoice.customerCurrency}`,
      );
    }
  }
  const result = await deps.provider.charge(invoice, gate);
  const verdict = {
    invoiceId: invoice.id,
    attemptKey: invoice.attemptKey,
    amountMinor: invoice.amountMinor,
    // Only a provider that honours keys can be asked again about the same attempt.
    keepKey: result.outcome === "NETWORK_ERROR" && deps.settings.idempotent,
    calls: result.calls.length,
    attempts: result.calls,
    retry: invoice.dunning.declines,
    declineReason: result.declineReason,
  };
  if (result.outcome === "PAID") return { ...verdict, status: "PAID", dunning: NOT_DUNNING };
  if (result.outcome === "DECLINED") {
    const next = afterDecline(
      deps.settings.retrySchedule,
      invoice.dunning,
      result.declineReason,
      deps.clock(),
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
function lostCharge(deps: SettleDeps, invoice: ClaimedInvoice, error: unknown): Verdict {
  deps.logger.error({ err: error, invoiceId: invoice.id }, "charge failed unexpectedly");
  const message = `charge failed unexpectedly: ${error instanceof Error ? error.message : String(error)}`;
  if (!deps.settings.idempotent) return withoutCall(invoice, "OUTCOME_UNKNOWN", message);
  return { ...withoutCall(invoice, "NETWORK_ERROR", message), keepKey: true };
}

function withoutCall(
  invoice: ClaimedInvoice,
  status: "CUSTOMER_NOT_FOUND" | "CURRENCY_MISMATCH" | "OUTCOME_UNKNOWN" | "NETWORK_ERROR",
  error: string,
): Verdict {
  return {
    invoiceId: invoice.id,
    attemptKey: invoice.attemptKey,
    amountMinor: invoice.amountMinor,
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
