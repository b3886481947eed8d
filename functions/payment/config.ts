import * as z from "zod";
import {
  type ApiServer,
  type IssuerName,
  inClusterApiServer,
  integer,
  KEYS_PATH,
  parseConfig,
  parsedWith,
  probability,
  type ServiceConfig,
  serviceConfig,
  serviceEnv,
} from "../runtime/index.js";
import { DEFAULT_DECLINE_MIX, type DeclineMix, parseDeclineMix } from "./domain/decline-mix.js";

const MAX_DELAY_MS = 600_000;

/** "50" → 50..50, "20-80" → 20..80: how long to wait before charging. */
const latencyRange = z.string().transform((text, ctx) => {
  const match = /^(\d{1,6})(?:-(\d{1,6}))?$/.exec(text);
  const min = Number(match?.[1]);
  const max = Number(match?.[2] ?? match?.[1]);
  if (!match || min > max || max > MAX_DELAY_MS) {
    ctx.addIssue({
      code: "custom",
      message: `expected milliseconds as "50" or a range "20-80", at most ${MAX_DELAY_MS}`,
    });
    return z.NEVER;
  }
  return { min, max };
});

/** "a, b" → ["a", "b"]: several identities may be allowed, e.g. during a namespace move. */
const subjectList = z
  .string()
  .transform((text) =>
    text
      .split(",")
      .map((subject) => subject.trim())
      .filter(Boolean),
  )
  .refine((subjects) => subjects.length > 0, { message: "expected one or more subjects" });

const variables = z.object({
  ...serviceEnv,
  PAYMENT_SUCCESS_RATE: probability(0.5),
  PAYMENT_DECLINE_REASONS: parsedWith(parseDeclineMix).optional(),
  PAYMENT_SEED: z.coerce
    .number()
    .int()
    .min(-Number.MAX_SAFE_INTEGER)
    .max(Number.MAX_SAFE_INTEGER)
    .optional(),
  PAYMENT_BODY_LIMIT_BYTES: integer({ min: 256, max: 1_048_576, default: 16_384 }),
  PAYMENT_ERROR_RATE: probability(0),
  PAYMENT_LATENCY_MS: latencyRange.optional(),
  PAYMENT_LATE_REPLY_MS: integer({ min: 0, max: MAX_DELAY_MS, default: 0 }),
  PAYMENT_LATE_REPLY_RATE: z.coerce.number().min(0).max(1).optional(),
  // Charges per second this replica takes; above it, 429 with Retry-After. Unset: no limit.
  PAYMENT_RATE_LIMIT: z.coerce.number().int().min(1).max(100_000).optional(),
  PAYMENT_AUTH: z.enum(["jwks", "off"], { message: 'expected "jwks" or "off"' }).optional(),
  PAYMENT_AUTH_ISSUER: z.string().optional(),
  PAYMENT_AUTH_AUDIENCE: z.string().default("payment"),
  PAYMENT_AUTH_SUBJECT: subjectList.optional(),
  PAYMENT_AUTH_JWKS_URL: z
    .url({ protocol: /^https?$/, message: "expected an http(s) URL" })
    .optional(),
  PAYMENT_AUTH_JWKS_TOKEN_FILE: z.string().optional(),
  PAYMENT_AUTH_JWKS_CA_FILE: z.string().optional(),
  PAYMENT_AUTH_JWKS_COOLDOWN_MS: integer({ min: 0, max: 3_600_000, default: 30_000 }),
  // Set by Kubernetes in every container: where the pod's API server is.
  KUBERNETES_SERVICE_HOST: z.string().optional(),
  KUBERNETES_SERVICE_PORT: z.string().optional(),
});

const schema = variables.superRefine(requireExplicitAuth);

/**
 * Auth is always a deliberate choice: unset is an error everywhere (the local starter sets
 * "off"), "off" is refused in production, and "jwks" needs everything it verifies against.
 */
function requireExplicitAuth(env: z.output<typeof variables>, ctx: z.RefinementCtx): void {
  const problem = (variable: string, message: string) =>
    ctx.addIssue({ code: "custom", path: [variable], message });
  if (!env.PAYMENT_AUTH) {
    problem("PAYMENT_AUTH", 'is required: "jwks", or "off" outside production');
  } else if (env.PAYMENT_AUTH === "off" && env.NODE_ENV === "production") {
    problem("PAYMENT_AUTH", '"off" is refused when NODE_ENV=production');
  } else if (env.PAYMENT_AUTH === "jwks") {
    if (!env.PAYMENT_AUTH_SUBJECT) {
      problem("PAYMENT_AUTH_SUBJECT", "is required when PAYMENT_AUTH=jwks");
    }
    // Both named, or neither: then both come from the API server the pod runs under.
    const named = Boolean(env.PAYMENT_AUTH_ISSUER);
    if (named !== Boolean(env.PAYMENT_AUTH_JWKS_URL)) {
      problem(
        named ? "PAYMENT_AUTH_JWKS_URL" : "PAYMENT_AUTH_ISSUER",
        "set PAYMENT_AUTH_ISSUER and PAYMENT_AUTH_JWKS_URL together, or neither to read the cluster's issuer from its API server",
      );
    } else if (!named && !(env.KUBERNETES_SERVICE_HOST && env.KUBERNETES_SERVICE_PORT)) {
      problem(
        "PAYMENT_AUTH_ISSUER",
        "is unset and this is no Kubernetes pod (KUBERNETES_SERVICE_HOST/PORT are unset), so the cluster's issuer cannot be read: set PAYMENT_AUTH_ISSUER and PAYMENT_AUTH_JWKS_URL",
      );
    }
  }
}

export type AuthConfig =
  | { mode: "off" }
  | {
      mode: "jwks";
      /** Configured (PAYMENT_AUTH_ISSUER), or read from the pod's API server when unset. */
      issuer: IssuerName;
      audience: string;
      /** Token subjects allowed to call, e.g. system:serviceaccount:antaeus:antaeus. */
      subjects: string[];
      jwksUrl: string;
      /** Bearer token sent when fetching the JWKS (the Kubernetes API server asks for one). */
      jwksTokenFile: string | undefined;
      /** CA bundle the JWKS URL's certificate must chain to. */
      jwksCaFile: string | undefined;
      /** After a fetch, how long an unknown key id waits before it may trigger another. */
      jwksCooldownMs: number;
    };

export interface FaultConfig {
  /** Share of charge requests answered 503 without charging. */
  errorRate: number;
  /** Wait before charging, drawn uniformly from the range; null when off. */
  latencyMs: { min: number; max: number } | null;
  /** Charge, commit, then answer this late for this share of charges; null when off. */
  lateReply: { ms: number; rate: number } | null;
}

export interface PaymentConfig extends ServiceConfig {
  successRate: number;
  /** How declines are split between reasons (domain/decline-mix.ts). */
  declineMix: DeclineMix;
  /** Makes every draw reproducible when set; crypto randomness when not. */
  seed: number | undefined;
  bodyLimitBytes: number;
  /** Charges per second above which a call is answered 429 and not made; undefined: none. */
  rateLimit: number | undefined;
  faults: FaultConfig;
  auth: AuthConfig;
}

export function loadPaymentConfig(
  env: Record<string, string | undefined> = process.env,
): PaymentConfig {
  const parsed = parseConfig(schema, env);
  return {
    ...serviceConfig(parsed),
    successRate: parsed.PAYMENT_SUCCESS_RATE,
    declineMix: parsed.PAYMENT_DECLINE_REASONS ?? DEFAULT_DECLINE_MIX,
    seed: parsed.PAYMENT_SEED,
    bodyLimitBytes: parsed.PAYMENT_BODY_LIMIT_BYTES,
    rateLimit: parsed.PAYMENT_RATE_LIMIT,
    faults: {
      errorRate: parsed.PAYMENT_ERROR_RATE,
      latencyMs: parsed.PAYMENT_LATENCY_MS?.max ? parsed.PAYMENT_LATENCY_MS : null,
      lateReply:
        parsed.PAYMENT_LATE_REPLY_MS > 0
          ? { ms: parsed.PAYMENT_LATE_REPLY_MS, rate: parsed.PAYMENT_LATE_REPLY_RATE ?? 1 }
          : null,
    },
    auth:
      parsed.PAYMENT_AUTH === "jwks"
        ? {
            mode: "jwks",
            audience: parsed.PAYMENT_AUTH_AUDIENCE,
            subjects: parsed.PAYMENT_AUTH_SUBJECT ?? [],
            jwksCooldownMs: parsed.PAYMENT_AUTH_JWKS_COOLDOWN_MS,
            ...issuerSource(parsed),
          }
        : { mode: "off" },
  };
}

/**
 * Where payment's issuer and keys come from: the variables when set, else the API server of the
 * pod, with its own token and the cluster CA (the refinement above made sure one of them exists).
 */
function issuerSource(parsed: z.output<typeof variables>) {
  const files = {
    tokenFile: parsed.PAYMENT_AUTH_JWKS_TOKEN_FILE,
    caFile: parsed.PAYMENT_AUTH_JWKS_CA_FILE,
  };
  if (parsed.PAYMENT_AUTH_ISSUER && parsed.PAYMENT_AUTH_JWKS_URL) {
    return {
      issuer: { kind: "configured", issuer: parsed.PAYMENT_AUTH_ISSUER } as IssuerName,
      jwksUrl: parsed.PAYMENT_AUTH_JWKS_URL,
      jwksTokenFile: files.tokenFile,
      jwksCaFile: files.caFile,
    };
  }
  const apiServer = inClusterApiServer(parsed, files) as ApiServer;
  return {
    issuer: { kind: "discovered", apiServer } as IssuerName,
    jwksUrl: `${apiServer.url}${KEYS_PATH}`,
    jwksTokenFile: apiServer.tokenFile as string | undefined,
    jwksCaFile: apiServer.caFile as string | undefined,
  };
}
