import type { MiddlewareHandler } from "hono";
import {
  type AppEnv,
  type Challenge,
  forbidden,
  type Logger,
  type ReadinessChecks,
  requireCaller,
  trustedIssuer,
} from "../../runtime/index.js";
import type { AuthConfig } from "../config.js";

const CHALLENGE: Challenge = { realm: "payment", message: "a valid bearer token is required" };

export interface CallerAuth {
  middleware: MiddlewareHandler<AppEnv>;
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
  const middleware = requireCaller(async (token) => {
    const { sub } = await issuer.verify(token);
    if (!auth.subjects.includes(sub)) {
      throw forbidden(CHALLENGE, `${sub} may not call payment`, `subject ${sub} not allowed`);
    }
    return { subject: sub };
  }, CHALLENGE);
  return { middleware, readiness: { tokens: issuer.ready }, degraded: { tokens: issuer.degraded } };
}
