import type { Context } from "hono";
import { readText } from "../../runtime/index.js";
import type { ScheduleTrigger } from "../domain/run.js";
import { badRequest } from "../errors.js";

const PING_TYPE = "dev.knative.sources.ping";

// knative/eventing pkg/apis/sources/v1/ping_lifecycle.go, PingSourceSource:
// "/apis/v1/namespaces/<namespace>/pingsources/<name>". Kubernetes makes a namespace a DNS-1123
// label (at most 63 characters) and an object's name a DNS-1123 subdomain (at most 253):
// k8s.io/apimachinery pkg/util/validation/validation.go. So a real source is at most 349
// characters, and (with ce-id's 256) a (source, id) pair stays far below the 2,704 bytes a
// PostgreSQL btree entry may hold.
const LABEL = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
const PING_SOURCE = new RegExp(
  `^/apis/v1/namespaces/(?<namespace>${LABEL})/pingsources/(?<name>${LABEL}(\\.${LABEL})*)$`,
);
const MAX_NAMESPACE = 63;
const MAX_NAME = 253;
const MAX_ID = 256;
/**
 * Any other attribute (subject, dataschema, an extension from ceOverrides) is not used, but is
 * bounded all the same: none that a PingSource sends comes near it, and the longest one Antaeus
 * keeps, ce-source, is 349.
 */
const MAX_ATTRIBUTE = 512;

// RFC 3339 section 5.6; Go's RFC3339Nano (what Knative writes) has at most 9 fraction digits.
const RFC3339 =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:[Zz]|([+-])(\d{2}):(\d{2}))$/;

/**
 * The instant an RFC 3339 timestamp names, or undefined when it is not one: every field in its
 * range and the day within its month (`Date.parse` rolls 2026-02-30 over to March 2), the
 * instant within the years 1 to 9999 UTC. A leap
 * second (:60) is refused: a JavaScript date cannot hold one, and Go's time package, which
 * writes Knative's timestamps, never produces one.
 */
export function parseRfc3339(text: string): Date | undefined {
  const match = RFC3339.exec(text);
  if (!match) return undefined;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const millis = Number((match[7] ?? "").padEnd(3, "0").slice(0, 3));
  const offsetHours = Number(match[9] ?? 0);
  const offsetMinutes = Number(match[10] ?? 0);
  const daysInMonth = new Date(utc(year, month, 0)).getUTCDate();
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth) return undefined;
  if (hour > 23 || minute > 59 || second > 59 || offsetHours > 23 || offsetMinutes > 59) {
    return undefined;
  }
  const offsetMs = (match[8] === "-" ? -1 : 1) * (offsetHours * 60 + offsetMinutes) * 60_000;
  const instant = utc(year, month - 1, day, hour, minute, second, millis) - offsetMs;
  // PostgreSQL has no year 0, and an ISO string past 9999 has six digits: keep to what it stores.
  if (instant < EARLIEST || instant > LATEST) return undefined;
  return new Date(instant);
}

const EARLIEST = utc(1, 0, 1);
const LATEST = utc(9999, 11, 31, 23, 59, 59, 999);

/** Date.UTC, but years 0–99 stay themselves instead of becoming 1900–1999. */
function utc(
  year: number,
  monthIndex: number,
  day: number,
  hour = 0,
  minute = 0,
  second = 0,
  ms = 0,
) {
  const date = new Date(0);
  date.setUTCFullYear(year, monthIndex, day);
  date.setUTCHours(hour, minute, second, ms);
  return date.getTime();
}

const STRUCTURED_MODE = /^application\/cloudevents/i;
const JSON_DATA = /^application\/(.+\+)?json/i;

/**
 * The PingSource's event a request carries, or null for a plain API call. A request with
 * CloudEvent headers (binary mode, as the PingSource sends) must be a well-formed ping event.
 */
export async function triggerOf(c: Context): Promise<ScheduleTrigger | null> {
  const headers = c.req.header();
  const contentType = c.req.header("content-type") ?? "";
  // Media types are case-insensitive (RFC 9110 section 8.3.1).
  if (STRUCTURED_MODE.test(contentType)) {
    throw badRequest(
      "invalid_cloudevent",
      "structured-mode CloudEvents are not accepted; send binary mode (ce-* headers)",
    );
  }
  const attributes = Object.keys(headers).filter((name) => name.toLowerCase().startsWith("ce-"));
  if (attributes.length === 0) return null;
  for (const name of attributes) {
    if ((headers[name] ?? "").length > MAX_ATTRIBUTE) {
      throw badRequest(
        "invalid_cloudevent",
        `${name.toLowerCase()} is longer than ${MAX_ATTRIBUTE} characters`,
      );
    }
  }

  const attribute = (name: string) => c.req.header(name)?.trim();
  if (attribute("ce-specversion") !== "1.0") {
    throw badRequest("invalid_cloudevent", "ce-specversion must be 1.0");
  }
  const type = attribute("ce-type");
  if (type !== PING_TYPE) {
    throw badRequest(
      "invalid_cloudevent",
      `ce-type must be ${PING_TYPE}, got "${(type ?? "").slice(0, 40)}"`,
    );
  }
  const source = attribute("ce-source") ?? "";
  const parts = PING_SOURCE.exec(source)?.groups;
  if (
    !parts?.namespace ||
    !parts.name ||
    parts.namespace.length > MAX_NAMESPACE ||
    parts.name.length > MAX_NAME
  ) {
    throw badRequest(
      "invalid_cloudevent",
      `ce-source must be /apis/v1/namespaces/<namespace>/pingsources/<name>, with a namespace of at most ${MAX_NAMESPACE} and a name of at most ${MAX_NAME} characters`,
    );
  }
  const eventId = attribute("ce-id") ?? "";
  if (eventId.length === 0 || eventId.length > MAX_ID) {
    throw badRequest(
      "invalid_cloudevent",
      `ce-id must be a non-empty string of at most ${MAX_ID} characters`,
    );
  }
  const time = attribute("ce-time");
  const eventTime = time === undefined ? undefined : parseRfc3339(time);
  if (time !== undefined && !eventTime) {
    throw badRequest("invalid_cloudevent", "ce-time must be an RFC 3339 timestamp");
  }
  const body = await readText(c.req.raw);
  if (body.trim().length > 0 && JSON_DATA.test(contentType)) {
    try {
      JSON.parse(body);
    } catch {
      throw badRequest(
        "invalid_cloudevent",
        "event data must be JSON when its content type says so",
      );
    }
  }
  return { kind: "schedule", source, eventId, eventTime };
}
