/** ISO 4217 codes the system bills and charges in; Antaeus and payment must agree on them. */
export const CURRENCIES = ["EUR", "USD", "DKK", "SEK", "GBP"] as const;
export type Currency = (typeof CURRENCIES)[number];

export const isCurrency = (value: unknown): value is Currency =>
  typeof value === "string" && (CURRENCIES as readonly string[]).includes(value);

const DECIMAL = /^(\d{1,15})(?:\.(\d{1,2}))?$/;

/** "301.9" → 30190n; undefined when the text is not a plain non-negative decimal with ≤ 2 places. */
export function parseDecimal(text: string): bigint | undefined {
  const match = DECIMAL.exec(text);
  if (!match) return undefined;
  const [, units = "0", fraction = ""] = match;
  return BigInt(units) * 100n + BigInt(fraction.padEnd(2, "0"));
}

/** 30190n → "301.90": the exact decimal, to be written into JSON as a number literal. */
export function formatDecimal(minor: bigint): string {
  const sign = minor < 0n ? "-" : "";
  const abs = minor < 0n ? -minor : minor;
  return `${sign}${abs / 100n}.${(abs % 100n).toString().padStart(2, "0")}`;
}
