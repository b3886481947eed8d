import type { Currency } from "../../kernel/money.js";
import type { DunningState } from "./dunning.js";

/** An invoice a worker holds for one charge attempt, with what billing needs to decide it. */
export interface ClaimedInvoice {
  id: number;
  customerId: number;
  currency: Currency;
  amountMinor: bigint;
  /** The Idempotency-Key for this attempt: new, or the unresolved one from an earlier attempt. */
  attemptKey: string;
  /** Provider calls made for this invoice before this claim. */
  attempts: number;
  /** An earlier attempt's outcome is unknown: ask the provider again under the same key first. */
  reconciling: boolean;
  /** The customer's currency, or null when the customer does not exist. */
  customerCurrency: Currency | null;
  /** Its dunning cycle; `declines` is the number of the retry this attempt is (0: none). */
  dunning: DunningState;
}
