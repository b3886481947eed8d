import { formatDecimal } from "../../kernel/money.js";
import type { ClaimedInvoice } from "../domain/claim.js";
import type { Dialect } from "./settings.js";

/** One charge request as it goes on the wire, before the transport adds Host and Content-Length. */
export interface WireRequest {
  headers: Record<string, string>;
  body: string;
}

/**
 * The original challenge's Antaeus (pleo-io/tinjis, PaymentProvider.charge) calls
 * `khttp.post(url = endpoint, json = mapOf("currency" to …, "value" to …, "customer_id" to …))`
 * with khttp 0.1.0, which serialises the map with org.json (20150729) and sets its default
 * headers. What that produces, and why:
 * - Headers: khttp's DEFAULT_HEADERS (Accept, Accept-Encoding, User-Agent) plus
 *   DEFAULT_JSON_HEADERS (Content-Type), kept in a sorted map, so set in this order.
 * - Keys: org.json's JSONObject keeps a java.util.HashMap; with 16 buckets "currency",
 *   "customer_id" and "value" land in buckets 10, 12 and 13, so they are written in that order.
 * - currency: a Kotlin enum has no bean getters (org.json skips getClass and getDeclaringClass),
 *   so JSONObject.wrap turns it into an empty JSONObject: `{}`.
 * - value: a BigDecimal of scale 2, written by JSONObject.numberToString, which strips trailing
 *   zeros and then a trailing point: 70.00 → `70`, 70.30 → `70.3`.
 * - customer_id: an Int, written as is. No invoice id, no Idempotency-Key, no token.
 * test/billing/original-client.ts keeps the same bytes as fixtures, with the sources read.
 */
const ORIGINAL_HEADERS = {
  Accept: "*/*",
  "Accept-Encoding": "gzip, deflate",
  "Content-Type": "application/json",
  "User-Agent": "khttp/1.0.0-SNAPSHOT",
} as const;

/** An amount as org.json writes a scale-2 BigDecimal: trailing zeros and point stripped. */
function originalValue(amountMinor: bigint): string {
  return formatDecimal(amountMinor).replace(/\.?0+$/, "");
}

/**
 * The request for `invoice` in `dialect`. v1 (payment's contract): the original three fields plus
 * the invoice id, the exact decimal, and the attempt's Idempotency-Key; the caller adds the token.
 */
export function wireRequest(dialect: Dialect, invoice: ClaimedInvoice): WireRequest {
  if (dialect === "original") {
    return {
      headers: { ...ORIGINAL_HEADERS },
      body: `{"currency":{},"customer_id":${invoice.customerId},"value":${originalValue(invoice.amountMinor)}}`,
    };
  }
  return {
    headers: { "content-type": "application/json", "idempotency-key": invoice.attemptKey },
    body: `{"invoice_id":${invoice.id},"customer_id":${invoice.customerId},"currency":"${invoice.currency}","value":${formatDecimal(invoice.amountMinor)}}`,
  };
}
