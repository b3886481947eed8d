import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pingDelivery } from "../support/cloudevents.js";
import { type InProcessSystem, inProcessSystem } from "../support/in-process.js";

/**
 * The PingSource's CloudEvent at the edge of what it may be. Limits come from the platform:
 * the source is "/apis/v1/namespaces/<namespace>/pingsources/<name>" (knative/eventing
 * pkg/apis/sources/v1/ping_lifecycle.go), a namespace is a DNS-1123 label of at most 63
 * characters and a name a DNS-1123 subdomain of at most 253 (k8s.io/apimachinery
 * pkg/util/validation/validation.go).
 */
let system: InProcessSystem;
let url: string;
beforeAll(async () => {
  system = await inProcessSystem({ antaeus: { SEED_CUSTOMERS: "5" } });
  url = system.url;
});
afterAll(() => system?.stop());

const runs = async () =>
  (await system.antaeusDb`select count(*)::int as n from billing_runs`)[0]!.n as number;

function deliver(event: RequestInit & { headers: Record<string, string> }) {
  return fetch(`${url}/rest/v1/invoices/pay`, event);
}

const event = (overrides: Record<string, string>, id = `evt-${Math.random()}`) =>
  pingDelivery({
    source: "antaeus/monthly-billing",
    id,
    time: "2026-12-01T00:00:00Z",
    data: '{"reason":"monthly billing"}',
    headers: overrides,
  });

async function expectRefused(response: Response, naming: string) {
  expect(response.status).toBe(400);
  const body = (await response.json()) as { error: { code: string; message: string } };
  expect(body.error.code).toBe("invalid_cloudevent");
  expect(body.error.message).toContain(naming);
}

const label = (length: number) => "a".repeat(length);
/** A DNS-1123 subdomain of exactly `length` characters: labels of 63 joined by dots. */
const subdomain = (length: number) =>
  Array.from({ length: Math.ceil(length / 64) }, (_, i) =>
    label(Math.min(63, length - i * 64)),
  ).join(".");
const source = (namespace: string, name: string) =>
  `/apis/v1/namespaces/${namespace}/pingsources/${name}`;

describe("CloudEvent attribute bounds", () => {
  it("refuses a 3,000-character ce-source with 400, and starts no run", async () => {
    const before = await runs();
    await expectRefused(
      await deliver(event({ "ce-source": source("antaeus", label(3000)) })),
      "ce-source",
    );
    expect(await runs()).toBe(before);
  });

  it("accepts the longest source Kubernetes allows (namespace 63, name 253) and records it", async () => {
    const longest = source(label(63), subdomain(253));
    expect(longest).toHaveLength(349);
    const response = await deliver(event({ "ce-source": longest }, "evt-longest"));
    expect(response.status).toBe(200);
    const [trigger] = await system.antaeusDb`
      select source from billing_triggers where event_id = 'evt-longest'`;
    expect(trigger?.source).toBe(longest);
  });

  it.each([
    ["a namespace of 64 characters", source(label(64), "monthly-billing")],
    ["a name of 254 characters", source("antaeus", subdomain(254))],
    ["a name with an empty label", source("antaeus", "monthly..billing")],
  ])("refuses %s", async (_, tooLong) => {
    await expectRefused(await deliver(event({ "ce-source": tooLong })), "ce-source");
  });

  it("refuses a ce-id over 256 characters and any attribute over 512", async () => {
    await expectRefused(await deliver(event({ "ce-id": label(257) })), "ce-id");
    await expectRefused(await deliver(event({ "ce-subject": label(513) })), "ce-subject");
    await expectRefused(await deliver(event({ "ce-type": label(513) })), "ce-type");
  });
});

describe("ce-time is RFC 3339, strictly", () => {
  it.each([
    "2026-02-30T00:00:00Z",
    "2026-02-29T00:00:00Z",
    "2026-13-01T00:00:00Z",
    "2026-12-00T00:00:00Z",
    "2026-12-01T24:00:00Z",
    "2026-12-01T00:60:00Z",
    "2026-12-31T23:59:60Z",
    "2026-12-01T00:00:00+24:00",
    "2026-12-01T00:00:00.1234567890Z",
    "2026-12-01 00:00:00Z",
    "2026-12-01T00:00:00",
    // Instants outside the years 1 to 9999, which PostgreSQL's timestamps do not read back.
    "0000-06-01T00:00:00Z",
    "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:00:00-05:00",
  ])("refuses %s", async (time) => {
    await expectRefused(await deliver(event({ "ce-time": time })), "ce-time");
  });

  it.each([
    ["2028-02-29T00:00:00Z", "2028-02-29T00:00:00.000Z"],
    ["2026-12-01t00:00:00.5z", "2026-12-01T00:00:00.500Z"],
    ["2026-12-01T01:00:00.123456789+01:00", "2026-12-01T00:00:00.123Z"],
    ["2026-11-30T18:30:00-05:30", "2026-12-01T00:00:00.000Z"],
    ["0001-01-01T00:00:00Z", "0001-01-01T00:00:00.000Z"],
    ["9999-12-31T23:59:59.999Z", "9999-12-31T23:59:59.999Z"],
  ])("accepts %s as %s", async (time, instant) => {
    // Something due, so that the event starts a run and is remembered with its time.
    await system.antaeusDb`
      update invoices set status = 'DECLINED', next_retry_at = null, run_id = null
      where id = (select min(id) from invoices)`;
    const id = `evt-time-${time}`;
    expect((await deliver(event({ "ce-time": time }, id))).status).toBe(200);
    // As milliseconds: the client reads a timestamp of year 1 back as 2001.
    const [trigger] = await system.antaeusDb`
      select (extract(epoch from event_time) * 1000)::float8 as ms
      from billing_triggers where event_id = ${id}`;
    expect(trigger?.ms).toBe(Date.parse(instant));
  });
});

describe("structured mode", () => {
  it.each([
    "application/cloudevents+json",
    "Application/CloudEvents+json",
    "APPLICATION/CLOUDEVENTS-BATCH+JSON; charset=utf-8",
  ])("%s is recognised and refused with 400, starting no run", async (contentType) => {
    const before = await runs();
    const response = await fetch(`${url}/rest/v1/invoices/pay`, {
      method: "POST",
      headers: { "content-type": contentType },
      body: JSON.stringify({
        specversion: "1.0",
        id: "structured-1",
        type: "dev.knative.sources.ping",
        source: source("antaeus", "monthly-billing"),
      }),
    });
    await expectRefused(response, "binary mode");
    expect(await runs()).toBe(before);
  });
});
