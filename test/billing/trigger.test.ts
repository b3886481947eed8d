import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pingDelivery } from "../support/cloudevents.js";
import { type InProcessSystem, inProcessSystem } from "../support/in-process.js";
import { pay } from "../support/system.js";

// Both functions in-process, on ports of their own: the run's lanes and its charges go over HTTP.
let system: InProcessSystem;
let url: string;
beforeAll(async () => {
  system = await inProcessSystem();
  url = system.url;
});
afterAll(() => system?.stop());

const ping = (
  id: string,
  headers: Record<string, string> = {},
  data = '{"reason":"monthly billing"}',
) =>
  pingDelivery({
    source: "antaeus/monthly-billing",
    id,
    time: "2026-12-01T00:00:00.123Z",
    data,
    headers,
  });

const ledgerSize = async () =>
  (await system.ledgerDb`select count(*)::int as n from payment.charges`)[0]!.n as number;

describe("the PingSource's CloudEvent", () => {
  it("starts a run recorded as scheduled, with its event id", async () => {
    const { status, body } = await pay(url, ping("evt-1"));
    expect(status).toBe(200);
    expect(body).toMatchObject({
      trigger: "schedule",
      status: "COMPLETED",
      created: true,
      total: 1000,
    });
    const [trigger] =
      await system.antaeusDb`select source, event_id, run_id, event_time from billing_triggers`;
    expect(trigger).toMatchObject({
      event_id: "evt-1",
      run_id: body.id,
      source: "/apis/v1/namespaces/antaeus/pingsources/monthly-billing",
    });
    expect(trigger?.event_time).toEqual(new Date("2026-12-01T00:00:00.123Z"));
  });

  it("redelivered with the same ce-id, answers with the same run and charges nothing", async () => {
    const before = await ledgerSize();
    const again = await Promise.all([pay(url, ping("evt-1")), pay(url, ping("evt-1"))]);
    for (const { status, body } of again) {
      expect(status).toBe(200);
      expect(body).toMatchObject({ trigger: "schedule", created: false, status: "COMPLETED" });
    }
    expect(await ledgerSize()).toBe(before);
    const [runs] = await system.antaeusDb`select count(*)::int as n from billing_runs`;
    expect(runs?.n).toBe(1);
  });

  it("accepts an event without data or time", async () => {
    const event = ping("evt-2", {}, "");
    delete (event.headers as Record<string, string>)["ce-time"];
    const { status, body } = await pay(url, event);
    expect(status).toBe(200);
    expect(body.trigger).toBe("schedule");
  });

  it.each([
    ["no ce-id", { "ce-id": "" }, "ce-id"],
    ["another spec version", { "ce-specversion": "0.3" }, "ce-specversion"],
    ["another event type", { "ce-type": "dev.knative.sources.apiserver.resource.add" }, "ce-type"],
    ["a source that is not a PingSource", { "ce-source": "https://example.com/cron" }, "ce-source"],
    ["a time that is not RFC 3339", { "ce-time": "yesterday" }, "ce-time"],
  ])("with %s → 400 naming the attribute, and no run", async (_, overrides, named) => {
    const runsBefore = (await system.antaeusDb`select count(*)::int as n from billing_runs`)[0]!.n;
    const response = await fetch(`${url}/rest/v1/invoices/pay`, {
      method: "POST",
      ...ping("bad", overrides),
    });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe("invalid_cloudevent");
    expect(body.error.message).toContain(named);
    expect((await system.antaeusDb`select count(*)::int as n from billing_runs`)[0]!.n).toBe(
      runsBefore,
    );
  });

  it("with data that is not the JSON it claims to be → 400", async () => {
    const response = await fetch(`${url}/rest/v1/invoices/pay`, {
      method: "POST",
      ...ping("bad-data", {}, "{not json"),
    });
    expect(response.status).toBe(400);
  });

  it("in structured mode → 400 asking for binary mode", async () => {
    const response = await fetch(`${url}/rest/v1/invoices/pay`, {
      method: "POST",
      headers: { "content-type": "application/cloudevents+json" },
      body: JSON.stringify({
        specversion: "1.0",
        id: "x",
        type: "dev.knative.sources.ping",
        source: "/x",
      }),
    });
    expect(response.status).toBe(400);
  });
});

describe("the pay route", () => {
  it("is POST only: 405 with Allow", async () => {
    const response = await fetch(`${url}/rest/v1/invoices/pay`);
    expect(response.status).toBe(405);
    expect(response.headers.get("allow")).toBe("POST");
  });

  it("lists runs newest first and shows one run's progress", async () => {
    await pay(url); // charges the declined invoices again (auth is off: a person asking)
    const runs = (await (await fetch(`${url}/rest/v1/billing/runs`)).json()) as Array<{
      id: number;
      trigger: string;
    }>;
    expect(runs.length).toBeGreaterThanOrEqual(2);
    expect(runs[0]!.id).toBeGreaterThan(runs[1]!.id);
    const one = await (await fetch(`${url}/rest/v1/billing/runs/${runs[0]!.id}`)).json();
    expect(one).toMatchObject({
      id: runs[0]!.id,
      status: "COMPLETED",
      done: expect.any(Number),
      total: expect.any(Number),
    });
    expect((await fetch(`${url}/rest/v1/billing/runs/99999`)).status).toBe(404);
    expect((await fetch(`${url}/rest/v1/billing/runs/x`)).status).toBe(400);
    expect((await fetch(`${url}/rest/v1/billing/runs?limit=0`)).status).toBe(400);
  });

  it("answers 404 for the attempts of an invoice that does not exist", async () => {
    expect((await fetch(`${url}/rest/v1/invoices/424242/attempts`)).status).toBe(404);
  });
});
