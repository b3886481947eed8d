/**
 * The exact request of the original challenge's Antaeus, for three invoices. Where each byte
 * comes from (read with the code search tools):
 *
 * - Call: pleo-io/tinjis `pleo-antaeus-core/src/main/kotlin/io/pleo/antaeus/core/external/
 *   PaymentProvider.kt` (as kept by the fork viallikavoo/tinjis at f9de884a): `khttp.post(url =
 *   paymentProviderRestEndpoint, json = mapOf("currency" to invoice.amount.currency, "value" to
 *   invoice.amount.value, "customer_id" to invoice.customerId)).jsonObject.getBoolean("result")`.
 *   `pleo-antaeus-core/build.gradle.kts` there: `compile("khttp:khttp:0.1.0")`. Money.value is a
 *   java.math.BigDecimal, currency a Kotlin enum. The URL is posted to exactly as configured; the
 *   challenge's endpoint is a bare URL, so the path is `/`.
 * - Headers: khttp `GenericRequest.kt`: DEFAULT_HEADERS = Accept `*\/*`, Accept-Encoding
 *   `gzip, deflate`, User-Agent `khttp/1.0.0-SNAPSHOT`; with `json` set, DEFAULT_JSON_HEADERS =
 *   Content-Type `application/json`; the merged map is sorted (`toSortedMap()`) and set on the
 *   HttpURLConnection in that order. No Idempotency-Key, no Authorization. Host, Content-Length
 *   and Connection are the JVM's HttpURLConnection's own, not khttp's: a transport's, so tests
 *   compare them by meaning, not position.
 * - Body: khttp `coerceToJSON`: `JSONObject(map).toString()`; org.json JSONObject (2015, the
 *   release khttp 0.1.0 builds on): a java.util.HashMap (16 buckets: "currency" → 10,
 *   "customer_id" → 12, "value" → 13, so that order); `wrap` returns a BigDecimal as is and
 *   writes it with `numberToString`, which strips trailing zeros, then a trailing point (70.00 →
 *   70, 70.30 → 70.3); an enum is not a java.* class, so it becomes `new JSONObject(bean)`, whose
 *   `populateMap` skips getClass/getDeclaringClass and finds no other getter: `{}`; `write` puts
 *   no whitespace.
 */
export const ORIGINAL_HEADER_LINES = [
  "Accept: */*",
  "Accept-Encoding: gzip, deflate",
  "Content-Type: application/json",
  "User-Agent: khttp/1.0.0-SNAPSHOT",
];

export const ORIGINAL_REQUESTS = [
  { customerId: 1, amountMinor: 41276n, body: '{"currency":{},"customer_id":1,"value":412.76}' },
  { customerId: 2, amountMinor: 7000n, body: '{"currency":{},"customer_id":2,"value":70}' },
  { customerId: 3, amountMinor: 7030n, body: '{"currency":{},"customer_id":3,"value":70.3}' },
] as const;

/** The whole request as the original sends it to `host` (HttpURLConnection's transport lines last). */
export function originalRequestBytes(host: string, body: string): string {
  return [
    "POST / HTTP/1.1",
    ...ORIGINAL_HEADER_LINES,
    `Host: ${host}`,
    "Connection: keep-alive",
    `Content-Length: ${Buffer.byteLength(body)}`,
    "",
    body,
  ].join("\r\n");
}
