/**
 * What the run page says about speed: invoices settled per second since the run started, and
 * the time left at that speed. The live script (live.ts) works the same figures out from its own
 * polls, so a browser's clock never enters the sum.
 */
export interface Pace {
  percent: number;
  perSecond: number | undefined;
  secondsLeft: number | undefined;
}

export function paceOf(done: number, total: number, elapsedSeconds: number): Pace {
  const percent = total === 0 ? 100 : Math.floor((done / total) * 100);
  if (done === 0 || elapsedSeconds <= 0)
    return { percent, perSecond: undefined, secondsLeft: undefined };
  const perSecond = done / elapsedSeconds;
  return { percent, perSecond, secondsLeft: (total - done) / perSecond };
}

export const formatRate = (perSecond: number | undefined): string =>
  perSecond === undefined
    ? "–"
    : perSecond >= 10
      ? Math.round(perSecond).toLocaleString("en")
      : perSecond.toFixed(1);

export function formatDuration(seconds: number | undefined): string {
  if (seconds === undefined) return "–";
  const s = Math.ceil(seconds);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}
