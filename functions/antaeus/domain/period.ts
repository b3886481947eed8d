/** A billing period is a calendar month, stored as its first day: "2026-11-01". */
export type Period = string;

/** Billing follows the company's calendar: a month begins at 00:00 on the 1st, Copenhagen time. */
const BILLING_TIME_ZONE = "Europe/Copenhagen";

export function periodOf(instant: Date, timeZone = BILLING_TIME_ZONE): Period {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit" })
      .formatToParts(instant)
      .map((part) => [part.type, part.value]),
  );
  return `${parts.year}-${parts.month}-01`;
}

export function addMonths(period: Period, months: number): Period {
  const [year, month] = period.split("-").map(Number) as [number, number];
  const index = year * 12 + (month - 1) + months;
  return `${Math.floor(index / 12)}-${String((index % 12) + 1).padStart(2, "0")}-01`;
}

export const isPeriod = (text: string): boolean => /^\d{4}-(0[1-9]|1[0-2])-01$/.test(text);
