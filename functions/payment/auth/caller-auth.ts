import type { MiddlewareHandler } from "hono";
import {
  type ApiSecurity,
  type AppEnv,
  bearerJwtScheme,
  type Challenge,
  forbidden,
  type Logger,
  type ReadinessChecks,
  requireCaller,
  trustedIssuer,
} from "../../runtime/index.js";
import type { AuthConfig } from "../config.js";

export const CHALLENGE: Challenge = {
  realm: "payment",
  message: "a valid bearer token is required",
};

export interface CallerAuth {
  middleware: MiddlewareHandler<AppEnv>;
  /** Whom a token speaks for, or a 401/403 CallerRefused; absent with auth off. */
  verify?: (token: string) => Promise<{ subject: string }>;
  /**
   * "tokens" in /readyz: not ready until the issuer is known and its keys fetched (a payment that
   * can verify no token can charge for no one), degraded while tokens name another issuer.
   */
  readiness: ReadinessChecks;
  degraded: ReadinessChecks;
}

/** What PAYMENT_AUTH asks for: verified callers only, or (said loudly at start) anyone. */
export function callerAuth(auth: AuthConfig, logger: Logger): CallerAuth {
  if (auth.mode === "off") {
    logger.warn("PAYMENT_AUTH=off: anyone who can reach this service can charge");
    return { middleware: (_c, next) => next(), readiness: {}, degraded: {} };
  }
  const issuer = trustedIssuer(
    {
      name: auth.issuer,
      keys: {
        url: auth.jwksUrl,
        tokenFile: auth.jwksTokenFile,
        caFile: auth.jwksCaFile,
        caFileSetting: "PAYMENT_AUTH_JWKS_CA_FILE",
        cooldownMs: auth.jwksCooldownMs,
      },
      audiences: [auth.audience],
      challenge: CHALLENGE,
    },
    logger,
  );
  logger.info(
    {
      issuer: issuer.describe,
      audience: auth.audience,
      subjects: auth.subjects,
      jwks: auth.jwksUrl,
    },
    "callers must present a workload-identity token",
  );
  // A Kubernetes projected service-account token; only the subjects configured may charge.
  const verify = async (token: string) => {
    const { sub } = await issuer.verify(token);
    if (!auth.subjects.includes(sub)) {
      throw forbidden(CHALLENGE, `${sub} may not call payment`, `subject ${sub} not allowed`);
    }
    return { subject: sub };
  };
  return {
    middleware: requireCaller(verify, CHALLENGE),
    verify,
    readiness: { tokens: issuer.ready },
    degraded: { tokens: issuer.degraded },
  };
}

/**
 * What payment's OpenAPI document says each operation needs: every route but the probes (which
 * createApp registers before callerAuth) takes Antaeus's token when PAYMENT_AUTH=jwks, /metrics
 * and the document itself included.
 */
export function openApiSecurity(auth: AuthConfig): ApiSecurity {
  return {
    schemes: {
      bearer: bearerJwtScheme("Antaeus's projected service-account token (audience payment)"),
    },
    requirements: (_method, path) =>
      auth.mode === "off" || OPEN_PATHS.has(path) ? [] : [{ bearer: [] }],
  };
}

/** The routes createApp registers before app.ts puts callerAuth in front of the rest. */
const OPEN_PATHS = new Set(["/healthz", "/readyz"]);
