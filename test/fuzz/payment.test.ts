import fc from "fast-check";
import { afterAll, beforeAll, describe } from "vitest";
import { CURRENCIES } from "../../functions/kernel/money.js";
import { startPayment } from "../payment/support.js";
import {
  body,
  contentType,
  type FuzzRequest,
  fuzzTest,
  headerValue,
  idText,
  METHODS,
  query,
  segment,
} from "./support.js";

/** Payment's body cap (PAYMENT_BODY_LIMIT_BYTES, 16 KiB by default). */
const LIMIT = 16 * 1024;

/** JSON values of every type, and the edges of each field the contract names. */
const anyJson = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.double(),
  fc.string({ maxLength: 20 }),
  fc.constant({}),
  fc.constant([]),
);
const id = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: 1, max: 2_147_483_647 }) },
  { weight: 1, arbitrary: fc.constantFrom(0, -1, 2_147_483_648, 1.5, 1e308, -0) },
  { weight: 1, arbitrary: anyJson },
);
const amount = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 1, max: 10_000_000 }).map((cents) => cents / 100) },
  { weight: 2, arbitrary: fc.stringMatching(/^-?\d{1,18}(\.\d{0,4})?$/) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      9_999_999_999_999.99,
      10_000_000_000_000,
      "9999999999999.99",
      "10000000000000",
      0.001,
      1e-7,
      1e21,
      "1e3",
      " 1",
      "NaN",
      "Infinity",
      "0.00",
      "00000000000000000001.5",
    ),
  },
  { weight: 1, arbitrary: anyJson },
);
const charge = fc.record(
  {
    customer_id: id,
    invoice_id: id,
    currency: fc.oneof(
      { weight: 8, arbitrary: fc.constantFrom(...CURRENCIES) },
      { weight: 1, arbitrary: fc.constantFrom("eur", "XXX", "", "EUR ") },
      { weight: 1, arbitrary: anyJson },
    ),
    value: amount,
    extra: anyJson,
  },
  { requiredKeys: ["customer_id", "currency", "value"] },
);

const idempotencyKey = fc.oneof(
  { weight: 6, arbitrary: fc.uuid() },
  // Reused keys: replays, and the same key with another body.
  { weight: 2, arbitrary: fc.constantFrom("k-1", "k-2", "k-3") },
  { weight: 1, arbitrary: headerValue(300) },
);

const target: fc.Arbitrary<[string, string]> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .tuple(fc.constantFrom("POST", "POST", "GET"), fc.constantFrom(...METHODS), fc.nat(4))
      .map(([method, other, dice]): [string, string] => [
        dice === 0 ? other : method,
        "/v1/charges",
      ]),
  },
  {
    weight: 1,
    arbitrary: fc.tuple(
      fc.constantFrom(...METHODS),
      fc.oneof(
        fc.constantFrom("/healthz", "/readyz", "/metrics", "/", "/v1/charges/"),
        fc.array(segment, { minLength: 1, maxLength: 4 }).map((s) => `/${s.join("/")}`),
      ),
    ),
  },
);

const request: fc.Arbitrary<FuzzRequest> = fc
  .record({
    target,
    query: query(["idempotency_key", "invoice_id"], fc.oneof(idText, idempotencyKey)),
    key: fc.option(idempotencyKey),
    contentType: fc.option(contentType, { freq: 2 }),
    requestId: fc.option(fc.oneof(fc.uuid(), headerValue(200))),
    body: fc.oneof(
      { weight: 6, arbitrary: charge.map((c) => JSON.stringify(c)) },
      { weight: 2, arbitrary: body(LIMIT) },
      { weight: 1, arbitrary: fc.constant("") },
    ),
    chunked: fc.boolean(),
  })
  .map((r) => ({
    method: r.target[0],
    path: r.target[1] + r.query,
    headers: {
      "content-type": r.contentType ?? "application/json",
      ...(r.key ? { "idempotency-key": r.key } : {}),
      ...(r.requestId ? { "x-request-id": r.requestId } : {}),
    },
    ...(r.target[0] !== "GET" && r.target[0] !== "HEAD"
      ? { body: r.body, chunked: r.chunked }
      : {}),
  }));

let payment: Awaited<ReturnType<typeof startPayment>>;
beforeAll(async () => {
  payment = await startPayment({ PAYMENT_SEED: "7" });
});
afterAll(() => payment?.stop());

describe("payment under generated requests", () => {
  fuzzTest("payment", () => payment.url, request);
});
