import * as z from "zod";
import {
  boolean,
  integer,
  parseConfig,
  parsedWith,
  type ServiceConfig,
  serviceConfig,
  serviceEnv,
  url,
} from "../runtime/index.js";
import {
  type AuthSettings,
  authEnv,
  authIsOn,
  authSettings,
  requireExplicitAccess,
} from "./auth/settings.js";
import { type BillingSettings, DIALECTS, worstCaseChargeMs } from "./billing/settings.js";
import { parseRetrySchedule, type RetrySchedule } from "./domain/dunning.js";
import { isPeriod, type Period } from "./domain/period.js";
import type { EventSettings } from "./events/relay.js";

const DAY_MS = 86_400_000;
/** P1D,P3D,P7D: retries one, three and seven days after the first soft decline. */
const DEFAULT_RETRY_SCHEDULE: RetrySchedule = [DAY_MS, 3 * DAY_MS, 7 * DAY_MS];

const httpUrl = url(["http", "https"]);

const schema = z
  .object({
    ...serviceEnv,
    SEED_ENABLED: boolean(true),
    SEED: integer({ min: 0, max: 2 ** 32 - 1, default: 42 }),
    SEED_CUSTOMERS: integer({ min: 0, max: 1_000_000, default: 100 }),
    SEED_INVOICES_PER_CUSTOMER: integer({ min: 0, max: 1_000, default: 10 }),
    SEED_LAST_PERIOD: z
      .string()
      .refine((value) => isPeriod(`${value}-01`), { message: "expected a month as YYYY-MM" })
      .optional(),
    PAYMENT_PROVIDER_ENDPOINT: httpUrl.optional(),
    PAYMENT_PROVIDER_DIALECT: z.enum(DIALECTS).default("v1"),
    // Unset: the dialect's default (v1: true, original: false).
    PAYMENT_PROVIDER_IDEMPOTENT: z
      .enum(["true", "false", "1", "0"], { message: "expected true or false" })
      .transform((value) => value === "true" || value === "1")
      .optional(),
    PAYMENT_TOKEN_FILE: z.string().optional(),
    PAYMENT_TIMEOUT_MS: integer({ min: 1, max: 60_000, default: 3_000 }),
    PAYMENT_RETRIES: integer({ min: 0, max: 10, default: 3 }),
    BILLING_CONCURRENCY: integer({ min: 1, max: 512, default: 64 }),
    BILLING_LANES: integer({ min: 1, max: 64, default: 1 }),
    // Calls per second across every lane and replica; unset: none until the provider answers 429.
    BILLING_PROVIDER_RATE_LIMIT: z.coerce.number().int().min(1).max(100_000).optional(),
    BILLING_REQUEST_BUDGET_MS: integer({ min: 100, max: 590_000, default: 240_000 }),
    BILLING_LEASE_MS: integer({ min: 100, max: 3_600_000, default: 60_000 }),
    BILLING_LANE_URL: httpUrl.optional(),
    // "none": no retries, a soft decline goes to a person at once.
    BILLING_RETRY_SCHEDULE: parsedWith(parseRetrySchedule).optional(),
    BILLING_CLOCK_FILE: z.string().optional(),
    K_SINK: httpUrl.optional(),
    // The SinkBinding's ceOverrides as JSON, e.g. {"extensions":{"team":"billing"}}.
    K_CE_OVERRIDES: z
      .string()
      .transform((text, ctx) => {
        try {
          const parsed = JSON.parse(text) as { extensions?: unknown };
          const extensions = parsed?.extensions ?? {};
          if (typeof extensions !== "object" || extensions === null) throw new Error();
          return Object.fromEntries(
            Object.entries(extensions).map(([name, value]) => [name, String(value)]),
          );
        } catch {
          ctx.addIssue({
            code: "custom",
            message: 'expected JSON like {"extensions":{"name":"value"}}',
          });
          return z.NEVER;
        }
      })
      .optional(),
    EVENTS_SOURCE: z.string().min(1).max(512).optional(),
    BILLING_SELF_TOKEN_FILE: z.string().optional(),
    ...authEnv,
  })
  .superRefine(requireExplicitAccess)
  .superRefine((env, ctx) => {
    // With auth on, a lane request without Antaeus's own token would be refused: the run would
    // stall until the watchdog.
    if (authIsOn(env) && !env.BILLING_SELF_TOKEN_FILE) {
      ctx.addIssue({
        code: "custom",
        path: ["BILLING_SELF_TOKEN_FILE"],
        message: "is required when auth is on: lane requests present Antaeus's own token",
      });
    }
  })
  .superRefine((env, ctx) => {
    if (env.NODE_ENV !== "production") return;
    if (env.BILLING_CLOCK_FILE) {
      ctx.addIssue({
        code: "custom",
        path: ["BILLING_CLOCK_FILE"],
        message: "is refused when NODE_ENV=production: billing runs on the system clock",
      });
    }
    for (const name of ["PAYMENT_PROVIDER_ENDPOINT", "BILLING_LANE_URL"] as const) {
      if (!env[name]) {
        ctx.addIssue({
          code: "custom",
          path: [name],
          message: "is required when NODE_ENV=production",
        });
      }
    }
  })
  .superRefine((env, ctx) => {
    if (env.PAYMENT_PROVIDER_DIALECT !== "original") return;
    // The original's request carries neither a key nor a token: claiming either would be false.
    if (env.PAYMENT_PROVIDER_IDEMPOTENT === true) {
      ctx.addIssue({
        code: "custom",
        path: ["PAYMENT_PROVIDER_IDEMPOTENT"],
        message:
          "cannot be true with PAYMENT_PROVIDER_DIALECT=original, which sends no Idempotency-Key",
      });
    }
    if (env.PAYMENT_TOKEN_FILE) {
      ctx.addIssue({
        code: "custom",
        path: ["PAYMENT_TOKEN_FILE"],
        message:
          "is not sent with PAYMENT_PROVIDER_DIALECT=original (its requests carry no token); unset it",
      });
    }
  })
  .superRefine((env, ctx) => {
    // A lease shorter than one invoice's worst case would let a second worker retry it while the
    // first still waits: harmless (same key), but wasted calls and confusing audit rows.
    const worst = worstCaseChargeMs(env.PAYMENT_TIMEOUT_MS, env.PAYMENT_RETRIES);
    if (env.BILLING_LEASE_MS <= worst) {
      ctx.addIssue({
        code: "custom",
        path: ["BILLING_LEASE_MS"],
        message: `must exceed the worst case of one charge with retries (${worst} ms)`,
      });
    }
  });

export interface AntaeusConfig extends ServiceConfig {
  seed: {
    enabled: boolean;
    seed: number;
    customers: number;
    invoicesPerCustomer: number;
    /** Unset: the current month (data/seed.ts). */
    lastPeriod: Period | undefined;
  };
  billing: BillingSettings;
  events: EventSettings;
  auth: AuthSettings;
}

export function loadAntaeusConfig(
  env: Record<string, string | undefined> = process.env,
): AntaeusConfig {
  const parsed = parseConfig(schema, env);
  return {
    ...serviceConfig(parsed),
    seed: {
      enabled: parsed.SEED_ENABLED,
      seed: parsed.SEED,
      customers: parsed.SEED_CUSTOMERS,
      invoicesPerCustomer: parsed.SEED_INVOICES_PER_CUSTOMER,
      lastPeriod: parsed.SEED_LAST_PERIOD ? `${parsed.SEED_LAST_PERIOD}-01` : undefined,
    },
    billing: {
      // Outside production the defaults point at `npm start`'s local payment function and at itself.
      providerEndpoint: parsed.PAYMENT_PROVIDER_ENDPOINT ?? "http://127.0.0.1:8081/v1/charges",
      dialect: parsed.PAYMENT_PROVIDER_DIALECT,
      idempotent: parsed.PAYMENT_PROVIDER_IDEMPOTENT ?? parsed.PAYMENT_PROVIDER_DIALECT === "v1",
      tokenFile: parsed.PAYMENT_TOKEN_FILE,
      timeoutMs: parsed.PAYMENT_TIMEOUT_MS,
      retries: parsed.PAYMENT_RETRIES,
      concurrency: parsed.BILLING_CONCURRENCY,
      lanes: parsed.BILLING_LANES,
      providerRateLimit: parsed.BILLING_PROVIDER_RATE_LIMIT,
      requestBudgetMs: parsed.BILLING_REQUEST_BUDGET_MS,
      leaseMs: parsed.BILLING_LEASE_MS,
      laneUrl: parsed.BILLING_LANE_URL,
      selfTokenFile: parsed.BILLING_SELF_TOKEN_FILE,
      retrySchedule: parsed.BILLING_RETRY_SCHEDULE ?? DEFAULT_RETRY_SCHEDULE,
      clockFile: parsed.BILLING_CLOCK_FILE,
    },
    events: {
      sink: parsed.K_SINK,
      extensions: parsed.K_CE_OVERRIDES ?? {},
      // This instance: its Knative address, or the local one.
      source: parsed.EVENTS_SOURCE ?? parsed.BILLING_LANE_URL ?? "/antaeus/local",
    },
    auth: authSettings(parsed),
  };
}
