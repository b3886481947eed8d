import type { RetrySchedule } from "../domain/dunning.js";

/**
 * How a charge request looks on the wire. `v1`: payment's contract (docs/payment-contract.md):
 * invoice id, currency code, an Idempotency-Key and the workload token. `original`: byte for byte
 * what the original challenge's Antaeus sent (dialect.ts), for providers built for it.
 */
export const DIALECTS = ["v1", "original"] as const;
export type Dialect = (typeof DIALECTS)[number];

/** How billing behaves; parsed from the environment in config.ts. */
export interface BillingSettings {
  /** Full URL of the provider's charge route. */
  providerEndpoint: string;
  dialect: Dialect;
  /**
   * Whether the provider answers a repeated Idempotency-Key with the first outcome. Only then is
   * a call whose outcome is unknown asked again; otherwise the invoice waits for a person.
   */
  idempotent: boolean;
  /** Projected service-account token presented to the provider, re-read when it rotates. */
  tokenFile: string | undefined;
  timeoutMs: number;
  retries: number;
  /** Charges in flight at once per lane. */
  concurrency: number;
  /** The most lanes (request chains) a run is worked by at once (BILLING_LANES). */
  lanes: number;
  /**
   * Calls per second to the provider, across every lane and replica (BILLING_PROVIDER_RATE_LIMIT);
   * undefined: no limit until the provider answers 429.
   */
  providerRateLimit: number | undefined;
  /** How long one request works before handing the rest of the run to a continuation. */
  requestBudgetMs: number;
  /** How long a claimed invoice stays reserved for its worker before another may take it over. */
  leaseMs: number;
  /**
   * Base URL of the billing lanes' Knative Service, where lanes are started and hand themselves
   * on; unset outside production, where it is this process's own port.
   */
  laneUrl: string | undefined;
  /** Offsets from the first soft decline at which it is retried (BILLING_RETRY_SCHEDULE). */
  retrySchedule: RetrySchedule;
  /** A file holding billing's "now" (clock.ts); unset: the system clock. Never in production. */
  clockFile: string | undefined;
  /** Antaeus's own projected token (audience antaeus), sent with each lane request. */
  selfTokenFile: string | undefined;
}

/** Longest wait honoured from a Retry-After header, and the cap on exponential backoff. */
export const MAX_RETRY_AFTER_MS = 5_000;
export const MAX_BACKOFF_MS = 2_000;

/**
 * The longest one invoice can stay with a worker: every try running into its deadline (a hard
 * bound per attempt: connect, headers and body), every wait at its cap.
 */
export const worstCaseChargeMs = (timeoutMs: number, retries: number) =>
  (retries + 1) * timeoutMs + retries * MAX_RETRY_AFTER_MS;
