import type { Manifest } from "./manifests.js";

/**
 * What Knative Eventing's webhook says of a Trigger's `spec.delivery`, and what its dispatcher
 * does with it. Sources (test/knative/SOURCES.md, "Eventing"):
 * - knative/eventing `pkg/apis/duck/v1/delivery_types.go` @03261287 (Eventing 1.15 and later,
 *   with `format`): DeliverySpec.Validate. `timeout` is checked only with the feature
 *   `delivery-timeout` on (Beta, on by default: `config/core/configmaps/features.yaml`),
 *   `retryAfterMax` only with `delivery-retryafter` (Alpha, off); otherwise they are refused.
 * - knative/pkg `apis/duck/v1/destination.go` (ValidateDestination) and `knative_reference.go`
 *   (KReference.Validate): a ref, or an absolute URI, or a ref with a relative URI. The webhook's
 *   context carries no parent object (knative/pkg `webhook/resourcesemantics/validation/
 *   validation_admit.go`) and Trigger.Validate adds none (`pkg/apis/eventing/v1/
 *   trigger_validation.go`), so a ref to another namespace passes: "mismatched namespaces" needs
 *   a parent.
 * - Durations are ISO 8601 as github.com/rickb777/date/period.Parse reads them: an optional
 *   sign, P, then years, months, weeks, days, and after T hours, minutes, seconds, each a
 *   decimal ("PT1S", "PT0.5S", "P1D").
 * - knative/eventing `pkg/kncloudevents/retries.go` (RetryConfigFromDeliverySpec): retry n waits
 *   backoffDelay × 2^n (exponential) or × n (linear), n from 1 (its test, retries_test.go).
 */

export const FEATURES_BY_DEFAULT = { deliveryTimeout: true, deliveryRetryAfter: false };

const PERIOD =
  /^[+-]?P(?=\d|T\d)(?:(\d+(?:[.,]\d+)?)Y)?(?:(\d+(?:[.,]\d+)?)M)?(?:(\d+(?:[.,]\d+)?)W)?(?:(\d+(?:[.,]\d+)?)D)?(?:T(?=\d)(?:(\d+(?:[.,]\d+)?)H)?(?:(\d+(?:[.,]\d+)?)M)?(?:(\d+(?:[.,]\d+)?)S)?)?$/;

/** An ISO 8601 period in milliseconds (months as 30 days, years as 365), or undefined. */
function periodMs(text: string): number | undefined {
  if (text === "P0") return 0;
  const match = PERIOD.exec(text);
  if (!match) return undefined;
  const unitMs = [
    365 * 86_400_000,
    30 * 86_400_000,
    7 * 86_400_000,
    86_400_000,
    3_600_000,
    60_000,
    1000,
  ];
  const ms = match
    .slice(1)
    .reduce((sum, part, i) => sum + (part ? Number(part.replace(",", ".")) * unitMs[i]! : 0), 0);
  return text.startsWith("-") ? -ms : ms;
}

function destinationErrors(field: string, destination: Manifest): string[] {
  const { ref, uri } = destination;
  const absolute = typeof uri === "string" && /^[a-z][a-z0-9+.-]*:\/\/[^/]/i.test(uri);
  if (!ref && uri === undefined)
    return [`expected at least one, got none: ${field}.ref, ${field}.uri`];
  if (ref && absolute) {
    return [
      `Absolute URI is not allowed when Ref or [apiVersion, kind, name] is present: ${field}`,
    ];
  }
  if (!ref) return absolute ? [] : [`invalid value: Relative URI is not allowed: ${field}.uri`];
  const missing = ["name", "apiVersion", "kind"].filter((key) => !ref[key]);
  const errors = missing.map((key) => `missing field(s): ${field}.ref.${key}`);
  if (ref.group) errors.push(`must not set the field(s): ${field}.ref.group`);
  return errors;
}

/** The webhook's errors for a delivery spec, one string per field; none: admitted. */
export function deliveryErrors(delivery: Manifest, features = FEATURES_BY_DEFAULT): string[] {
  const errors: string[] = [];
  if (delivery.deadLetterSink !== undefined) {
    errors.push(...destinationErrors("deadLetterSink", delivery.deadLetterSink));
  }
  if (delivery.retry !== undefined && !(Number.isInteger(delivery.retry) && delivery.retry >= 0)) {
    errors.push(`invalid value: ${delivery.retry}: retry`);
  }
  if (delivery.timeout !== undefined) {
    if (!features.deliveryTimeout) errors.push("must not set the field(s): timeout");
    else if (!periodMs(delivery.timeout))
      errors.push(`invalid value: ${delivery.timeout}: timeout`);
  }
  if (
    delivery.backoffPolicy !== undefined &&
    !["linear", "exponential"].includes(delivery.backoffPolicy)
  ) {
    errors.push(`invalid value: ${delivery.backoffPolicy}: backoffPolicy`);
  }
  if (delivery.backoffDelay !== undefined && periodMs(delivery.backoffDelay) === undefined) {
    errors.push(`invalid value: ${delivery.backoffDelay}: backoffDelay`);
  }
  if (delivery.format !== undefined && !["json", "binary"].includes(delivery.format)) {
    errors.push(`invalid value: ${delivery.format}: format`);
  }
  if (delivery.retryAfterMax !== undefined) {
    const ms = periodMs(delivery.retryAfterMax);
    if (!features.deliveryRetryAfter) errors.push("must not set the field(s): retryAfterMax");
    else if (ms === undefined || ms < 0) {
      errors.push(`invalid value: ${delivery.retryAfterMax}: retryAfterMax`);
    }
  }
  return errors;
}

/** The waits before each retry, in milliseconds, as the dispatcher computes them. */
export function backoffScheduleMs(delivery: Manifest): number[] {
  const delay = periodMs(delivery.backoffDelay ?? "") ?? 0;
  const factor = (n: number) => (delivery.backoffPolicy === "linear" ? n : 2 ** n);
  return Array.from({ length: delivery.retry ?? 0 }, (_, i) =>
    delivery.backoffPolicy && delivery.backoffDelay ? delay * factor(i + 1) : 0,
  );
}
