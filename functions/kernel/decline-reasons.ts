/**
 * Why a charge was declined, modelled on card-network practice (Visa's decline categories,
 * Stripe's `decline_code`s): payment gives the reason, Antaeus decides on it, so both read this
 * one list. Soft: the issuer may approve later, so a retry can succeed. Hard: it never will (the
 * card or account is unusable), so retrying only costs fees and risk.
 * docs/payment-contract.md ("Decline reasons") is the public list.
 */
const SOFT_DECLINE_REASONS = ["insufficient_funds", "do_not_honor", "try_again_later"] as const;
const HARD_DECLINE_REASONS = ["expired_card", "stolen_card", "invalid_account"] as const;

export const DECLINE_REASONS = [...SOFT_DECLINE_REASONS, ...HARD_DECLINE_REASONS] as const;
export type DeclineReason = (typeof DECLINE_REASONS)[number];

/**
 * Whether no retry can fix a decline for `reason`. Any other reason, an unknown one, and no
 * reason at all (the original challenge's providers answer `{"result": false}`) are soft:
 * retrying costs little, and a person still gets the invoice once the retry schedule ends.
 */
export const isHardDecline = (reason: string | null): boolean =>
  reason !== null && (HARD_DECLINE_REASONS as readonly string[]).includes(reason);
