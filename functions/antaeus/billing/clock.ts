import { readFileSync } from "node:fs";

/** What billing takes for "now": the due month of a run, and when a retry is due. */
export type Clock = () => Date;

export const systemClock: Clock = () => new Date();

/**
 * A clock read from a file holding an RFC 3339 instant (BILLING_CLOCK_FILE), re-read on every
 * call: an operator or a test moves billing's "now" by rewriting the file, without restarting
 * anything. Refused in production by configuration. Leases and run timestamps stay on the
 * database's clock: they measure real waiting, not the calendar.
 */
export function fileClock(path: string): Clock {
  return () => {
    const text = readFileSync(path, "utf8").trim();
    const instant = new Date(text);
    if (Number.isNaN(instant.getTime())) {
      throw new Error(
        `BILLING_CLOCK_FILE ${path} does not hold an instant: "${text.slice(0, 40)}"`,
      );
    }
    return instant;
  };
}
