import { gunzipSync, inflateSync } from "node:zlib";

/** An answer is one small JSON document; more than this is not one. */
export const MAX_ANSWER_BYTES = 64 * 1024;

/**
 * `result` read exactly as the original's client reads it: org.json's JSONObject.getBoolean
 * (20150729): Boolean.FALSE, or a String equalsIgnoreCase "false", is false; Boolean.TRUE, or a
 * String equalsIgnoreCase "true", is true; anything else (missing, null, a number, "yes") throws,
 * and the original's pay call fails. undefined here means that failure.
 */
export function getBoolean(value: unknown): boolean | undefined {
  if (value === false || (typeof value === "string" && equalsIgnoreCase(value, "false"))) {
    return false;
  }
  if (value === true || (typeof value === "string" && equalsIgnoreCase(value, "true"))) {
    return true;
  }
  return undefined;
}

/**
 * java.lang.String.equalsIgnoreCase: same length, and each pair of UTF-16 units equal, or equal
 * after Character.toUpperCase, or after toLowerCase of that. So "ſ" (long s, upper case "S")
 * matches "s": `"falſe"` is false to org.json, and here.
 */
function equalsIgnoreCase(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as string;
    const y = b[i] as string;
    if (x === y) continue;
    const ux = upper(x);
    const uy = upper(y);
    if (ux === uy || lower(ux) === lower(uy)) continue;
    return false;
  }
  return true;
}

// Character.toUpperCase/toLowerCase map one unit to one unit; where JavaScript's mapping is longer
// (ß → SS), Java keeps the character.
const upper = (c: string) => (c.toUpperCase().length === 1 ? c.toUpperCase() : c);
const lower = (c: string) => (c.toLowerCase().length === 1 ? c.toLowerCase() : c);

/** The body's text, undone from the Content-Encoding the original's client accepts (gzip, deflate). */
export function decodeBody(bytes: Buffer, encoding: string | string[] | undefined): string {
  const coding = (Array.isArray(encoding) ? encoding.join(",") : (encoding ?? ""))
    .trim()
    .toLowerCase();
  const options = { maxOutputLength: MAX_ANSWER_BYTES };
  if (coding === "gzip") return gunzipSync(bytes, options).toString("utf8");
  if (coding === "deflate") return inflateSync(bytes, options).toString("utf8");
  return bytes.toString("utf8");
}
