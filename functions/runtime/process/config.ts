import * as z from "zod";
import { ConfigError } from "../config-error.js";
import { databaseTls } from "./database-tls.js";

type Env = Record<string, string | undefined>;

/**
 * Parses `env` with a schema keyed by variable names, so every problem is reported
 * under the name an operator sets. Empty strings count as unset.
 */
export function parseConfig<S extends z.ZodType>(schema: S, env: Env = process.env): z.output<S> {
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== ""));
  const result = schema.safeParse(present);
  if (result.success) return result.data;
  const problems = result.error.issues.map(
    (issue) => `${issue.path.join(".") || "environment"}: ${issue.message}`,
  );
  throw new ConfigError(`invalid configuration\n  ${problems.join("\n  ")}`);
}

export const integer = (options: { min: number; max: number; default: number }) =>
  z.coerce.number().int().min(options.min).max(options.max).default(options.default);

export const boolean = (fallback: boolean) =>
  z
    .enum(["true", "false", "1", "0"], { message: "expected true or false" })
    .default(fallback ? "true" : "false")
    .transform((value) => value === "true" || value === "1");

/** A variable read by `parse`, which returns the value (never a string) or a message naming the problem. */
export const parsedWith = <T extends object>(parse: (text: string) => T | string) =>
  z.string().transform((text, ctx) => {
    const value = parse(text);
    if (typeof value !== "string") return value;
    ctx.addIssue({ code: "custom", message: value });
    return z.NEVER;
  });

export const probability = (fallback: number) => z.coerce.number().min(0).max(1).default(fallback);

/** A URL whose scheme is one of `schemes`, e.g. `url(["http", "https"])`. */
export const url = (schemes: readonly string[]) =>
  z.string().refine(
    (value) => {
      try {
        return schemes.includes(new URL(value).protocol.slice(0, -1));
      } catch {
        return false;
      }
    },
    { message: `expected a ${schemes.map((scheme) => `${scheme}://`).join(" or ")} URL` },
  );

/** A postgres:// URL whose TLS settings (sslmode, sslrootcert) this runtime can honour. */
const postgresUrl = url(["postgres", "postgresql"]).superRefine((value, ctx) => {
  const problem = URL.canParse(value) ? databaseTls(value) : undefined;
  if (typeof problem === "string") ctx.addIssue({ code: "custom", message: problem });
});

/** What every function reads: the Knative runtime contract plus its database. */
export const serviceEnv = {
  NODE_ENV: z.enum(["development", "test", "production"]).default("development"),
  PORT: integer({ min: 0, max: 65535, default: 8080 }),
  // Where to listen: every interface, as Knative's queue-proxy reaches the container by the pod's
  // address; npm start sets 127.0.0.1, so nothing else on the network reaches a local run.
  HOST: z.string().min(1).default("0.0.0.0"),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  DATABASE_URL: postgresUrl.optional(),
  DATABASE_POOL_MAX: integer({ min: 1, max: 100, default: 10 }),
  MIGRATE_ON_START: boolean(true),
  SHUTDOWN_TIMEOUT_MS: integer({ min: 0, max: 600_000, default: 20_000 }),
  K_REVISION: z.string().optional(),
  // A second port serving /metrics (and the OpenAPI document) without the API's authentication.
  METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
};

/**
 * The function's database. Parsed as optional so that a setting's rules can be checked alone;
 * serving or migrating without it is refused, in every environment (`npm start` starts a local
 * PostgreSQL and sets it).
 */
export function requireDatabaseUrl(config: ServiceConfig): string {
  if (config.databaseUrl) return config.databaseUrl;
  throw new ConfigError(
    "DATABASE_URL: is required: the postgres:// URL of the function's database (npm start runs a local PostgreSQL and sets it)",
  );
}

export interface ServiceConfig {
  production: boolean;
  port: number;
  host: string;
  logLevel: string;
  databaseUrl: string | undefined;
  databasePoolMax: number;
  migrateOnStart: boolean;
  shutdownTimeoutMs: number;
  revision: string | undefined;
  /** Where /metrics is also served alone, without a token; unset: only on the API's port. */
  metricsPort: number | undefined;
}

export function serviceConfig(env: {
  NODE_ENV: string;
  PORT: number;
  HOST: string;
  LOG_LEVEL: string;
  DATABASE_URL?: string | undefined;
  DATABASE_POOL_MAX: number;
  MIGRATE_ON_START: boolean;
  SHUTDOWN_TIMEOUT_MS: number;
  K_REVISION?: string | undefined;
  METRICS_PORT?: number | undefined;
}): ServiceConfig {
  return {
    production: env.NODE_ENV === "production",
    port: env.PORT,
    host: env.HOST,
    logLevel: env.LOG_LEVEL,
    databaseUrl: env.DATABASE_URL,
    databasePoolMax: env.DATABASE_POOL_MAX,
    migrateOnStart: env.MIGRATE_ON_START,
    shutdownTimeoutMs: env.SHUTDOWN_TIMEOUT_MS,
    revision: env.K_REVISION,
    metricsPort: env.METRICS_PORT,
  };
}
