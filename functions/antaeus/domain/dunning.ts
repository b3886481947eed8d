/**
 * Dunning: what a decline does to an invoice. A soft decline (the issuer may approve later) is
 * retried on a schedule measured from the first decline; a hard one (the card or account is
 * unusable) goes to a person at once, as does a soft one after the schedule's last retry.
 * docs/billing.md ("Declines and the retry schedule") explains it.
 */
import { isHardDecline } from "../../kernel/decline-reasons.js";

/** Offsets from the first decline at which retries are due, e.g. P1D, P3D, P7D. */
export type RetrySchedule = readonly number[];

const DURATION = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/;

/**
 * An ISO 8601 duration in days, hours, minutes and seconds ("P1D", "PT12H", "P2DT6H"), in
 * milliseconds; undefined when it is not one. Months and years are refused: their length varies.
 */
function parseDuration(text: string): number | undefined {
  const match = DURATION.exec(text);
  if (!match || text === "P" || text.endsWith("T")) return undefined;
  const [days, hours, minutes, seconds] = match.slice(1).map((part) => Number(part ?? 0));
  return (
    (((days ?? 0) * 24 + (hours ?? 0)) * 60 + (minutes ?? 0)) * 60_000 + (seconds ?? 0) * 1_000
  );
}

/** "P1D,P3D,P7D" → offsets in ms, strictly increasing ("none": no retries); else a message naming the problem. */
export function parseRetrySchedule(text: string): RetrySchedule | string {
  if (text.trim() === "none") return [];
  const offsets: number[] = [];
  for (const part of text.split(",").map((p) => p.trim())) {
    const offset = parseDuration(part);
    if (offset === undefined || offset <= 0) {
      return `"${part}" is not a positive ISO 8601 duration in days/hours/minutes/seconds (e.g. P1D, PT6H)`;
    }
    if (offset <= (offsets.at(-1) ?? 0)) return `"${part}" is not later than the retry before it`;
    offsets.push(offset);
  }
  return offsets;
}

/** Where an invoice stands in its dunning cycle. */
export interface DunningState {
  /** Soft declines so far in this cycle; also the number of the next retry. */
  declines: number;
  /** The first decline of this cycle; the schedule is measured from it. */
  since: Date | null;
  /** When the next retry is due; null when none is scheduled. */
  nextRetryAt: Date | null;
}

export const NOT_DUNNING: DunningState = { declines: 0, since: null, nextRetryAt: null };

/** The invoice's status and dunning state after a decline for `reason` at `now`. */
export function afterDecline(
  schedule: RetrySchedule,
  before: DunningState,
  reason: string | null,
  now: Date,
): { status: "DECLINED" | "RETRIES_EXHAUSTED" | "HARD_DECLINED"; dunning: DunningState } {
  const since = before.since ?? now;
  const declines = before.declines + 1;
  if (isHardDecline(reason)) {
    return { status: "HARD_DECLINED", dunning: { declines, since, nextRetryAt: null } };
  }
  const offset = schedule[declines - 1];
  if (offset === undefined) {
    return { status: "RETRIES_EXHAUSTED", dunning: { declines, since, nextRetryAt: null } };
  }
  return {
    status: "DECLINED",
    dunning: { declines, since, nextRetryAt: new Date(since.getTime() + offset) },
  };
}
