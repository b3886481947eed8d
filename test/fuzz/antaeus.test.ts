import fc from "fast-check";
import { afterAll, beforeAll, describe } from "vitest";
import { INVOICE_STATUSES } from "../../functions/antaeus/domain/status.js";
import { type System, startSystem } from "../support/system.js";
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

/** Antaeus's body cap (functions/antaeus/app.ts). */
const LIMIT = 64 * 1024;

/** Each route with the method it answers, which most requests use; the rest try any. */
const ROUTES: Array<[string, string]> = [
  ["GET", "/"],
  ["GET", "/rest/health"],
  ["GET", "/healthz"],
  ["GET", "/readyz"],
  ["GET", "/metrics"],
  ["GET", "/rest/v1/invoices"],
  ["GET", "/rest/v1/invoices/{id}"],
  ["GET", "/rest/v1/invoices/{id}/attempts"],
  ["POST", "/rest/v1/invoices/pay"],
  ["GET", "/rest/v1/customers"],
  ["GET", "/rest/v1/customers/{id}"],
  ["GET", "/rest/v1/customers/{id}/invoices"],
  ["GET", "/rest/v1/billing/runs"],
  ["GET", "/rest/v1/billing/runs/{id}"],
  ["POST", "/rest/v1/billing/runs/{id}/lanes/1"],
  ["POST", "/rest/v1/billing/resume"],
];

const target: fc.Arbitrary<[string, string]> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .tuple(fc.constantFrom(...ROUTES), idText, fc.constantFrom(...METHODS), fc.nat(3))
      .map(([[method, route], id, other, dice]): [string, string] => [
        dice === 0 ? other : method,
        route.replace("{id}", id),
      ]),
  },
  {
    weight: 1,
    arbitrary: fc.tuple(
      fc.constantFrom(...METHODS),
      fc.array(segment, { minLength: 1, maxLength: 5 }).map((s) => `/${s.join("/")}`),
    ),
  },
);

const queryValue = fc.oneof(
  fc.constantFrom(...INVOICE_STATUSES, "paid", "LOST", "", "1", "500", "501", "0"),
  idText,
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

const request: fc.Arbitrary<FuzzRequest> = fc
  .record({
    target,
    query: query(["status", "customerId", "limit"], queryValue),
    event: fc.option(cloudEvent, { freq: 3 }),
    contentType: fc.option(contentType),
    requestId: fc.option(fc.oneof(fc.uuid(), headerValue(200))),
    body: fc.option(body(LIMIT)),
    chunked: fc.boolean(),
  })
  .map((r) => ({
    method: r.target[0],
    path: r.target[1] + r.query,
    headers: {
      ...r.event,
      ...(r.contentType ? { "content-type": r.contentType } : {}),
      ...(r.requestId ? { "x-request-id": r.requestId } : {}),
    },
    ...(r.body !== null && r.target[0] !== "GET" && r.target[0] !== "HEAD"
      ? { body: r.body, chunked: r.chunked }
      : {}),
  }));

let system: System;
let url: string;
beforeAll(async () => {
  system = await startSystem({ antaeus: { SEED_CUSTOMERS: "3" } });
  url = system.antaeus[0]!.url;
});
afterAll(() => system?.stop());

describe("Antaeus under generated requests", () => {
  fuzzTest("antaeus", () => url, request);
});
