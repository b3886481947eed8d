import fc from "fast-check";
import { afterAll, beforeAll, describe } from "vitest";
import { CURRENCIES } from "../../functions/kernel/money.js";
import { type Payment, startPayment } from "../payment/support.js";
import { ANTAEUS, ISSUER, signingKey, startJwksServer, token } from "../support/identity.js";
import { metricsUrlOf } from "../support/processes.js";
import {
  body,
  contentType,
  type FuzzRequest,
  fuzzTest,
  headerValue,
  idText,
  method,
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
      .tuple(fc.constantFrom("POST", "POST", "GET"), method, fc.nat(4))
      .map(([routeMethod, other, dice]): [string, string] => [
        dice === 0 ? other : routeMethod,
        "/v1/charges",
      ]),
  },
  {
    weight: 1,
    arbitrary: fc.tuple(
      method,
      fc.oneof(
        fc.constantFrom("/healthz", "/readyz", "/metrics", "/openapi.json", "/", "/v1/charges/"),
        fc.array(segment, { minLength: 1, maxLength: 4 }).map((s) => `/${s.join("/")}`),
      ),
    ),
  },
);

/** Requests as any client may send them, with the credentials `authorization` draws. */
const request = (authorization: fc.Arbitrary<Record<string, string>>): fc.Arbitrary<FuzzRequest> =>
  fc
    .record({
      target,
      query: query(["idempotency_key", "invoice_id"], fc.oneof(idText, idempotencyKey)),
      key: fc.option(idempotencyKey),
      contentType: fc.option(contentType, { freq: 2 }),
      requestId: fc.option(fc.oneof(fc.uuid(), headerValue(200))),
      authorization,
      body: fc.option(
        fc.oneof(
          { weight: 6, arbitrary: charge.map((c) => JSON.stringify(c)) },
          { weight: 2, arbitrary: body(LIMIT) },
          { weight: 1, arbitrary: fc.constant("") },
        ),
        { freq: 4 },
      ),
    })
    .map((r) => ({
      method: r.target[0],
      path: r.target[1] + r.query,
      headers: {
        "content-type": r.contentType ?? "application/json",
        ...r.authorization,
        ...(r.key ? { "idempotency-key": r.key } : {}),
        ...(r.requestId ? { "x-request-id": r.requestId } : {}),
      },
      ...(r.body === null ? {} : { body: r.body }),
    }));

const RECONCILER = "system:serviceaccount:ops:reconciler";

let open: Payment;
let guarded: Payment;
let jwks: Awaited<ReturnType<typeof startJwksServer>>;
/** Antaeus's token and the ways a token goes wrong, minted once the issuer runs. */
let credentials: Array<Record<string, string>>;

beforeAll(async () => {
  const key = await signingKey("rsa-1");
  jwks = await startJwksServer();
  jwks.state.keys = [key.jwk];
  [open, guarded] = await Promise.all([
    startPayment({ PAYMENT_SEED: "7", METRICS_PORT: "0" }),
    startPayment({
      PAYMENT_SEED: "7",
      METRICS_PORT: "0",
      PAYMENT_AUTH: "jwks",
      PAYMENT_AUTH_ISSUER: ISSUER,
      PAYMENT_AUTH_SUBJECT: ANTAEUS,
      PAYMENT_AUTH_JWKS_URL: jwks.url,
      // Low enough that the fuzz's charges meet it: a 429 is an answer like any other.
      PAYMENT_RATE_LIMIT: "20",
    }),
  ]);
  const now = Math.floor(Date.now() / 1000);
  const tokens = await Promise.all([
    token(key),
    token(key),
    token(key, { sub: RECONCILER }),
    token(key, { exp: now - 60 }),
    token(key, { aud: "antaeus" }),
    token(key, { iss: "https://evil.example" }),
    token(key, {}, "unknown-kid"),
  ]);
  credentials = [
    ...tokens.map((t) => ({ authorization: `Bearer ${t}` })),
    { authorization: `Bearer ${tokens[0]!.slice(0, -4)}AAAA` },
    { authorization: "Basic YWxpY2U6c2VjcmV0" },
  ];
});
afterAll(async () => {
  await Promise.all([open?.stop(), guarded?.stop()]);
  await jwks?.close();
});

const fuzzTarget = (payment: () => Payment) => () => ({
  port: payment().process.port,
  metricsUrl: `${metricsUrlOf(payment().process)}/metrics`,
});

describe("payment under generated requests, auth off", () => {
  fuzzTest(
    "payment (auth off)",
    fuzzTarget(() => open),
    request(fc.option(fc.record({ authorization: headerValue(100) }), { freq: 8, nil: {} })),
  );
});

describe("payment under generated requests, auth on", () => {
  fuzzTest(
    "payment (auth on)",
    fuzzTarget(() => guarded),
    request(
      fc.oneof(
        { weight: 1, arbitrary: fc.constant({}) },
        { weight: 6, arbitrary: fc.nat().map((n) => credentials[n % credentials.length]!) },
      ),
    ),
  );
});
