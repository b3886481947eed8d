import { DECLINE_REASONS, type DeclineReason } from "../../kernel/decline-reasons.js";

/** Share of declines given each reason; the default mix of PAYMENT_DECLINE_REASONS. */
export type DeclineMix = ReadonlyArray<readonly [DeclineReason, number]>;
export const DEFAULT_DECLINE_MIX: DeclineMix = [
  ["insufficient_funds", 0.5],
  ["do_not_honor", 0.2],
  ["try_again_later", 0.15],
  ["expired_card", 0.07],
  ["invalid_account", 0.05],
  ["stolen_card", 0.03],
];

/**
 * The outcome of one draw `u` in [0, 1): success below `successRate`; above it, the decline's
 * share of the interval is cut by the mix, so one draw decides both and a key's answer stays a
 * function of the seed and the key alone.
 */
export function outcomeOf(
  u: number,
  successRate: number,
  mix: DeclineMix,
): { succeeded: true } | { succeeded: false; reason: DeclineReason } {
  if (u < successRate) return { succeeded: true };
  const total = mix.reduce((sum, [, share]) => sum + share, 0);
  let point = ((u - successRate) / (1 - successRate)) * total;
  for (const [reason, share] of mix) {
    if (point < share) return { succeeded: false, reason };
    point -= share;
  }
  // Rounding at the very top of the interval: the last reason with a share.
  const last = mix.filter(([, share]) => share > 0).at(-1);
  return { succeeded: false, reason: last?.[0] ?? "insufficient_funds" };
}

/**
 * "insufficient_funds=0.5,expired_card=0.1": shares of declines by reason. Shares are relative
 * (they are scaled to sum to 1); reasons not named get none.
 */
export function parseDeclineMix(text: string): DeclineMix | string {
  const mix: Array<[DeclineReason, number]> = [];
  for (const part of text.split(",")) {
    const [name, share, extra] = part.trim().split("=");
    if (!(DECLINE_REASONS as readonly string[]).includes(name ?? "")) {
      return `unknown decline reason "${name}"; expected one of ${DECLINE_REASONS.join(", ")}`;
    }
    const value = Number(share);
    if (extra !== undefined || share === undefined || !/^\d+(\.\d+)?$/.test(share.trim())) {
      return `expected reason=share, e.g. insufficient_funds=0.5, got "${part.trim()}"`;
    }
    if (mix.some(([seen]) => seen === name)) return `decline reason "${name}" named twice`;
    mix.push([name as DeclineReason, value]);
  }
  if (mix.reduce((sum, [, share]) => sum + share, 0) <= 0) return "shares must not all be 0";
  return mix;
}
