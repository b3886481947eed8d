import type { Context } from "hono";
import { badRequest } from "../../runtime/errors.js";
import type { Trigger } from "../data/runs.js";

const PING_TYPE = "dev.knative.sources.ping";
const PING_SOURCE =
  /^\/apis\/v1\/namespaces\/[a-z0-9]([-a-z0-9]*[a-z0-9])?\/pingsources\/[a-z0-9]([-.a-z0-9]*[a-z0-9])?$/;
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i;

/**
 * Who is asking for a run. A request with CloudEvent headers (binary mode, as the PingSource
 * sends) must be a well-formed ping event; anything else is a plain API call.
 */
export async function triggerOf(c: Context): Promise<Trigger> {
  const headers = c.req.header();
  const isEvent = Object.keys(headers).some((name) => name.toLowerCase().startsWith("ce-"));
  const contentType = c.req.header("content-type") ?? "";
  if (contentType.startsWith("application/cloudevents")) {
    throw badRequest(
      "invalid_cloudevent",
      "structured-mode CloudEvents are not accepted; send binary mode (ce-* headers)",
    );
  }
  if (!isEvent) return { kind: "api" };

  const attribute = (name: string) => c.req.header(name)?.trim();
  if (attribute("ce-specversion") !== "1.0") {
    throw badRequest("invalid_cloudevent", "ce-specversion must be 1.0");
  }
  const type = attribute("ce-type");
  if (type !== PING_TYPE)
    throw badRequest("invalid_cloudevent", `ce-type must be ${PING_TYPE}, got "${type ?? ""}"`);
  const source = attribute("ce-source") ?? "";
  if (!PING_SOURCE.test(source)) {
    throw badRequest(
      "invalid_cloudevent",
      "ce-source must be /apis/v1/namespaces/<namespace>/pingsources/<name>",
    );
  }
  const eventId = attribute("ce-id") ?? "";
  if (eventId.length === 0 || eventId.length > 256) {
    throw badRequest(
      "invalid_cloudevent",
      "ce-id must be a non-empty string of at most 256 characters",
    );
  }
  const time = attribute("ce-time");
  if (time !== undefined && (!RFC3339.test(time) || Number.isNaN(Date.parse(time)))) {
    throw badRequest("invalid_cloudevent", "ce-time must be an RFC 3339 timestamp");
  }
  const body = await c.req.text();
  if (body.trim().length > 0 && /^application\/(.+\+)?json/.test(contentType)) {
    try {
      JSON.parse(body);
    } catch {
      throw badRequest(
        "invalid_cloudevent",
        "event data must be JSON when its content type says so",
      );
    }
  }
  return { kind: "schedule", source, eventId, eventTime: time ? new Date(time) : undefined };
}
