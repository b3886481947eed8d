// How big a bench runs. Each size has a variable of its own (BENCH_ROUNDS, BENCH_INVOICES, …)
// and two defaults: the full size the README's figures come from, and a tiny one, taken when
// BENCH_TINY=1, that still runs every step and prints every figure, only of little work. CI runs
// every `npm run bench*` script tiny (test/benches/), so a bench that stopped working fails there.
// A size variable that is set wins over both.

export const TINY = process.env.BENCH_TINY === "1";

/** The value of a size variable: as set, else the tiny or the full default. */
export function setting(name: string, full: string, tiny: string): string {
  return process.env[name] ?? (TINY ? tiny : full);
}

/** A numeric size variable. */
export const size = (name: string, full: number, tiny: number): number =>
  Number(setting(name, String(full), String(tiny)));
