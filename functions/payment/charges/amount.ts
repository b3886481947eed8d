import { formatDecimal, parseDecimal } from "../../kernel/money.js";
import { apiError } from "../errors.js";

/**
 * 9,999,999,999,999.99: fifteen significant digits, the most a JSON number (an IEEE double)
 * carries exactly. Within it, a number read from JSON turns back into the digits the client
 * wrote, and an amount written out as a number reads back as the same decimal.
 */
export const MAX_AMOUNT_MINOR = 999_999_999_999_999n;
const MAX_AMOUNT = Number(formatDecimal(MAX_AMOUNT_MINOR));

const DECIMAL_STRING = /^-?\d+(?:\.\d+)?$/;

const invalid = (message: string) => apiError("invalid_field", `value ${message}`);

/**
 * The charge's `value` as integer minor units. A JSON number is taken by its shortest decimal
 * form (what the client wrote, within MAX_AMOUNT_MINOR); a string must be a plain decimal.
 */
export function parseAmount(value: unknown): bigint {
  let text: string;
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw invalid("must be a finite number");
    if (value <= 0) throw invalid("must be greater than 0");
    if (value > MAX_AMOUNT) throw tooLarge();
    // Only numbers below 1e-6 print with an exponent here: more than two decimals.
    text = String(value);
    if (text.includes("e")) throw invalid("must have at most two decimals");
  } else if (typeof value === "string") {
    if (/^[+-]?(Infinity|NaN)$/i.test(value)) throw invalid("must be a finite number");
    if (!DECIMAL_STRING.test(value)) {
      throw invalid('must be a JSON number or a decimal string such as "301.99"');
    }
    text = value;
  } else {
    throw invalid("must be a JSON number or a decimal string");
  }
  if (text.startsWith("-")) throw invalid("must be greater than 0");
  const [units = "", fraction = ""] = text.split(".");
  if (fraction.length > 2) throw invalid("must have at most two decimals");
  if (units.replace(/^0+/, "").length > 13) throw tooLarge();
  const minor = parseDecimal(`${units.replace(/^0+(?=\d)/, "")}${fraction ? `.${fraction}` : ""}`);
  if (minor === undefined) throw invalid("must be a decimal number");
  if (minor === 0n) throw invalid("must be greater than 0");
  return minor;
}

/** The amount as a JSON number: exact, because it stays within MAX_AMOUNT_MINOR. */
export const amountNumber = (minor: bigint): number => Number(formatDecimal(minor));

const tooLarge = () => invalid(`must be at most ${formatDecimal(MAX_AMOUNT_MINOR)}`);
