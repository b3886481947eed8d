import fc from "fast-check";
import { afterAll, beforeAll, describe } from "vitest";
import { PROBES, ROUTE_ACCESS } from "../../functions/antaeus/auth/access.js";
import { INVOICE_STATUSES } from "../../functions/antaeus/domain/status.js";
import { antaeusIdentity, MONTHLY, OPERATOR, READER, SELF } from "../support/antaeus-identity.js";
import { createDatabase } from "../support/database.js";
import { token } from "../support/identity.js";
import { type FunctionProcess, metricsUrlOf, startFunction } from "../support/processes.js";
import { type System, startSystem } from "../support/system.js";
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

/** Antaeus's body cap (functions/antaeus/app.ts). */
const LIMIT = 64 * 1024;

/** Every route with the method it answers (the access table lists them all), which most requests use; the rest try any. */
const ROUTES: Array<[string, string]> = [
  ...ROUTE_ACCESS.map((route): [string, string] => [route.method, route.path]),
  ...PROBES.map((probe): [string, string] => ["GET", probe]),
];

const target: fc.Arbitrary<[string, string]> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .tuple(fc.constantFrom(...ROUTES), idText, idText, method, fc.nat(3))
      .map(([[method, route], id, lane, other, dice]): [string, string] => [
        dice === 0 ? other : method,
        route.replace(":id", id).replace(":lane", lane),
      ]),
  },
  {
    weight: 1,
    arbitrary: fc.tuple(
      method,
      fc.array(segment, { minLength: 1, maxLength: 5 }).map((s) => `/${s.join("/")}`),
    ),
  },
);

const queryValue = fc.oneof(
  fc.constantFrom(...INVOICE_STATUSES, "paid", "LOST", "", "1", "500", "501", "0"),
  idText,
  fc.uuid(),
  fc.string({ unit: "grapheme", maxLength: 30 }),
);

const label = fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,70}[a-z0-9])?$/);
const pingSource = fc
  .tuple(label, fc.array(label, { minLength: 1, maxLength: 5 }))
  .map(([namespace, name]) => `/apis/v1/namespaces/${namespace}/pingsources/${name.join(".")}`);
const twoDigits = (max: number) =>
  fc.integer({ min: 0, max }).map((n) => String(n).padStart(2, "0"));
/** Timestamps shaped like RFC 3339, with every field allowed a little past its range. */
const timestamp = fc
  .tuple(
    fc.integer({ min: 0, max: 9999 }).map((n) => String(n).padStart(4, "0")),
    twoDigits(14),
    twoDigits(32),
    twoDigits(25),
    twoDigits(61),
    twoDigits(61),
    fc.constantFrom("Z", "z", "+01:00", "-05:30", "+24:00", "", ".123456789Z", ".1234567890Z"),
  )
  .map(([y, mo, d, h, mi, s, zone]) => `${y}-${mo}-${d}T${h}:${mi}:${s}${zone}`);

/**
 * CloudEvent attributes: a well-formed PingSource event with up to two attributes gone wrong
 * (too long, malformed, or missing), so that most get past the first check.
 */
const cloudEvent = fc
  .tuple(
    fc.record({
      "ce-specversion": fc.constant("1.0"),
      "ce-type": fc.constant("dev.knative.sources.ping"),
      "ce-source": pingSource,
      "ce-id": fc.uuid(),
      "ce-time": timestamp,
    }),
    fc.array(
      fc.oneof(
        fc.record({ "ce-source": fc.oneof(pingSource, headerValue(400)) }),
        fc.record({
          "ce-source": fc
            .tuple(label, fc.integer({ min: 200, max: 4000 }))
            .map(([ns, n]) => `/apis/v1/namespaces/${ns}/pingsources/${"a".repeat(n)}`),
        }),
        fc.record({ "ce-id": fc.oneof(headerValue(300), fc.constant(" ")) }),
        fc.record({ "ce-time": headerValue(40) }),
        fc.record({ "ce-specversion": headerValue(10) }),
        fc.record({ "ce-type": headerValue(600) }),
        fc.record({ "ce-subject": headerValue(700) }),
        fc.record({ [`ce-${"x".repeat(8)}`]: headerValue(2000) }),
      ),
      { maxLength: 2 },
    ),
  )
  .map(([event, changes]) => Object.assign({}, event, ...changes) as Record<string, string>);

/** Requests as any client may send them, with the credentials `authorization` draws. */
const request = (authorization: fc.Arbitrary<Record<string, string>>): fc.Arbitrary<FuzzRequest> =>
  fc
    .record({
      target,
      query: query(["status", "customerId", "limit", "holder"], queryValue),
      event: fc.option(cloudEvent, { freq: 3 }),
      contentType: fc.option(contentType),
      requestId: fc.option(fc.oneof(fc.uuid(), headerValue(200))),
      authorization,
      body: fc.option(body(LIMIT)),
    })
    .map((r) => ({
      method: r.target[0],
      path: r.target[1] + r.query,
      headers: {
        ...r.event,
        ...r.authorization,
        ...(r.contentType ? { "content-type": r.contentType } : {}),
        ...(r.requestId ? { "x-request-id": r.requestId } : {}),
      },
      ...(r.body === null ? {} : { body: r.body }),
    }));

/** Where auth is off, a credential is only noise. */
const noise = fc.option(fc.record({ authorization: headerValue(100) }), { freq: 8, nil: {} });

let system: System;
let identity: Awaited<ReturnType<typeof antaeusIdentity>>;
let guarded: FunctionProcess;
/** Tokens of every role, and the ways a token goes wrong, minted once the issuers run. */
let credentials: Array<Record<string, string>>;

beforeAll(async () => {
  identity = await antaeusIdentity();
  [system, guarded] = await Promise.all([
    startSystem({ antaeus: { SEED_CUSTOMERS: "3", METRICS_PORT: "0" } }),
    createDatabase("fuzz_guarded"),
  ]).then(
    async ([started, url]) =>
      [
        started,
        await startFunction("antaeus", {
          ...identity.env,
          DATABASE_URL: url,
          PAYMENT_PROVIDER_ENDPOINT: `${started.payment.url}/v1/charges`,
          // The challenge profile: the original's routes open, everything else guarded.
          ANTAEUS_AUTH_OPEN_ROUTES: "original",
          SEED_CUSTOMERS: "3",
          METRICS_PORT: "0",
        }),
      ] as const,
  );
  const { clusterToken, companyToken } = identity;
  const now = Math.floor(Date.now() / 1000);
  const tokens = await Promise.all([
    clusterToken(OPERATOR),
    clusterToken(READER),
    clusterToken(MONTHLY),
    clusterToken(SELF),
    companyToken("alice@example.com", ["billing"]),
    companyToken("mallory@example.com", []),
    clusterToken(READER, { exp: now - 60 }),
    clusterToken(READER, { aud: "payment" }),
    clusterToken(READER, { iss: "https://evil.example" }),
    token(identity.clusterKey, { aud: "antaeus", sub: OPERATOR }, "unknown-kid"),
  ]);
  credentials = [
    ...tokens.map((t) => ({ authorization: `Bearer ${t}` })),
    ...tokens.slice(0, 5).map((t) => ({ cookie: `antaeus-session=${t}` })),
    { authorization: `Bearer ${tokens[0]!.slice(0, -4)}AAAA` },
    { authorization: "Basic YWxpY2U6c2VjcmV0" },
  ];
});
afterAll(async () => {
  await Promise.all([system?.stop(), guarded?.stop()]);
  await identity?.close();
});

const metricsUrl = (fn: FunctionProcess) => `${metricsUrlOf(fn)}/metrics`;

describe("Antaeus under generated requests, auth off", () => {
  fuzzTest(
    "antaeus (auth off)",
    () => ({ port: system.antaeus[0]!.port, metricsUrl: metricsUrl(system.antaeus[0]!) }),
    request(noise),
  );
});

describe("Antaeus under generated requests, auth on (the challenge profile)", () => {
  fuzzTest(
    "antaeus (auth on)",
    () => ({ port: guarded.port, metricsUrl: metricsUrl(guarded) }),
    request(
      fc.oneof(
        { weight: 2, arbitrary: fc.constant({}) },
        { weight: 6, arbitrary: fc.nat().map((n) => credentials[n % credentials.length]!) },
        { weight: 1, arbitrary: noise },
      ),
    ),
  );
});
