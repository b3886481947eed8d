import type { Outcome } from "./status.js";

/** The outcomes that are the provider's answer to a charge: it charged, declined, or refused. */
const ANSWERS = [
  "PAID",
  "DECLINED",
  "RETRIES_EXHAUSTED",
  "HARD_DECLINED",
  "REJECTED",
] as const satisfies readonly Outcome[];

export const REFUSAL_CODES = [
  "provider_refused_every_charge",
  "provider_refused_most_charges",
] as const;

/** A run whose charges the provider refused (HTTP 4xx, REJECTED) rather than declined. */
export interface ProviderRefusal {
  code: (typeof REFUSAL_CODES)[number];
  refused: number;
  answered: number;
  message: string;
}

/** From this many refusals, half the answers or more is a storm, not one odd invoice. */
const STORM_MIN = 10;

/**
 * A provider that refuses requests is not declining customers: the request itself is wrong, which
 * for a whole run means configuration (the token's issuer, audience or subject, the endpoint),
 * never a customer's card. Null while refusals are few.
 */
export function providerRefusal(counts: Record<Outcome, number>): ProviderRefusal | null {
  const refused = counts.REJECTED;
  const answered = ANSWERS.reduce((sum, outcome) => sum + counts[outcome], 0);
  if (refused === 0) return null;
  const every = refused === answered;
  if (!every && (refused < STORM_MIN || refused * 2 < answered)) return null;
  return {
    code: every ? "provider_refused_every_charge" : "provider_refused_most_charges",
    refused,
    answered,
    message: `The payment provider refused ${every ? "every charge it answered" : "most charges it answered"} (${refused} of ${answered} REJECTED, HTTP 4xx). That is a configuration problem, not the customers': look for "caller refused" in payment's log and "tokens" in its /readyz (an issuer mismatch), and check Antaeus's token audience and subject (docs/operations.md, "Every charge REJECTED"). The REJECTED invoices are charged again by the next run.`,
  };
}
