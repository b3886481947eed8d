import type { MiddlewareHandler } from "hono";
import {
  type AppEnv,
  type Challenge,
  forbidden,
  type Logger,
  rememberVerdicts,
  remoteKeySet,
  requireCaller,
  verifyToken,
} from "../../runtime/index.js";
import type { AuthConfig } from "../config.js";

export const CHALLENGE: Challenge = {
  realm: "payment",
  message: "a valid bearer token is required",
};

/** What PAYMENT_AUTH asks for: verified callers only, or (said loudly at start) anyone. */
export function callerAuth(auth: AuthConfig, logger: Logger): MiddlewareHandler<AppEnv> {
  if (auth.mode === "off") {
    logger.warn("PAYMENT_AUTH=off: anyone who can reach this service can charge");
    return (_c, next) => next();
  }
  logger.info(
    { issuer: auth.issuer, audience: auth.audience, subjects: auth.subjects, jwks: auth.jwksUrl },
    "callers must present a workload-identity token",
  );
  return requireCaller(callerVerifier(auth), CHALLENGE);
}

/**
 * Whom a token speaks for, or a 401/403 CallerRefused: a Kubernetes projected service-account
 * token, and only the subjects configured may charge. Verified once per token, then remembered:
 * Antaeus sends the same token for up to an hour.
 */
export function callerVerifier(auth: Extract<AuthConfig, { mode: "jwks" }>) {
  const keys = remoteKeySet({
    url: auth.jwksUrl,
    tokenFile: auth.jwksTokenFile,
    caFile: auth.jwksCaFile,
    caFileSetting: "PAYMENT_AUTH_JWKS_CA_FILE",
    cooldownMs: auth.jwksCooldownMs,
  });
  const policy = { issuer: auth.issuer, audiences: [auth.audience] };
  const verify = rememberVerdicts((token) => verifyToken(token, keys, policy, CHALLENGE), keys);
  return async (token: string) => {
    const { sub } = await verify(token);
    if (!auth.subjects.includes(sub)) {
      throw forbidden(CHALLENGE, `${sub} may not call payment`, `subject ${sub} not allowed`);
    }
    return { subject: sub };
  };
}
