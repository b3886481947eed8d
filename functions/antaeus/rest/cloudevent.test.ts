import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { ApiError } from "../../runtime/index.js";
import { parseRfc3339, triggerOf } from "./cloudevent.js";

describe("an RFC 3339 timestamp (ce-time)", () => {
  it("names its instant, whatever its offset and up to nanoseconds", () => {
    expect(parseRfc3339("2026-11-01T00:00:00Z")?.toISOString()).toBe("2026-11-01T00:00:00.000Z");
    expect(parseRfc3339("2026-11-01T01:00:00+01:00")?.toISOString()).toBe(
      "2026-11-01T00:00:00.000Z",
    );
    expect(parseRfc3339("2026-11-01t00:00:00.123456789z")?.toISOString()).toBe(
      "2026-11-01T00:00:00.123Z",
    );
  });

  it("is refused when a field is out of range, the day is not in its month, or it is a leap second", () => {
    for (const text of [
      "2026-02-29T00:00:00Z",
      "2026-13-01T00:00:00Z",
      "2026-11-01T24:00:00Z",
      "2026-12-31T23:59:60Z",
      "2026-11-01 00:00:00Z",
      "2026-11-01T00:00:00",
      "0000-01-01T00:00:00Z",
    ]) {
      expect(parseRfc3339(text), text).toBeUndefined();
    }
    expect(parseRfc3339("2028-02-29T00:00:00Z")).toBeDefined();
  });
});

/** triggerOf on a request, in-process: the trigger, or the 400's message. */
async function trigger(headers: Record<string, string>, body?: string) {
  const app = new Hono();
  app.post("/", async (c) => {
    try {
      return c.json(await triggerOf(c));
    } catch (error) {
      if (error instanceof ApiError) return c.json({ refused: error.message }, 400);
      throw error;
    }
  });
  const response = await app.request("/", { method: "POST", headers, body: body ?? null });
  return (await response.json()) as Record<string, unknown>;
}

const ping = {
  "ce-specversion": "1.0",
  "ce-type": "dev.knative.sources.ping",
  "ce-source": "/apis/v1/namespaces/antaeus/pingsources/monthly-billing",
  "ce-id": "a1b2",
};

describe("who asks for a run (CloudEvent headers)", () => {
  it("is the API when no ce-* header is sent", async () => {
    expect(await trigger({})).toBeNull();
  });

  it("is the schedule for a well-formed binary-mode ping event", async () => {
    expect(await trigger({ ...ping, "ce-time": "2026-11-01T00:00:00Z" })).toEqual({
      kind: "schedule",
      source: ping["ce-source"],
      eventId: "a1b2",
      eventTime: "2026-11-01T00:00:00.000Z",
    });
  });

  it("refuses a malformed event, naming the attribute", async () => {
    expect(await trigger({ ...ping, "ce-specversion": "0.3" })).toEqual({
      refused: "ce-specversion must be 1.0",
    });
    expect((await trigger({ ...ping, "ce-type": "x" })).refused).toMatch(/^ce-type must be/);
    expect((await trigger({ ...ping, "ce-source": "/elsewhere" })).refused).toMatch(
      /^ce-source must be/,
    );
    expect((await trigger({ ...ping, "ce-id": "" })).refused).toMatch(/^ce-id must be/);
    expect((await trigger({ ...ping, "ce-time": "yesterday" })).refused).toBe(
      "ce-time must be an RFC 3339 timestamp",
    );
    expect((await trigger({ ...ping, "ce-subject": "x".repeat(513) })).refused).toBe(
      "ce-subject is longer than 512 characters",
    );
    expect(
      (await trigger({ "content-type": "application/cloudevents+json" }, "{}")).refused,
    ).toMatch(/structured-mode/);
    expect(
      (await trigger({ ...ping, "content-type": "application/json" }, "{not json")).refused,
    ).toBe("event data must be JSON when its content type says so");
  });
});
