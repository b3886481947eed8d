import type { MiddlewareHandler } from "hono";
import {
  type ApiSecurity,
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

/**
 * What payment's OpenAPI document says each operation needs: the routes behind callerAuth (every
 * one but the probes, /metrics and the API's description, registered before it) take Antaeus's
 * token when PAYMENT_AUTH=jwks.
 */
export function openApiSecurity(auth: AuthConfig): ApiSecurity {
  return {
    schemes: {
      bearer: {
        type: "http",
        scheme: "bearer",
        bearerFormat: "JWT",
        description: "Antaeus's projected service-account token (audience payment)",
      },
    },
    requirements: (_method, path) =>
      auth.mode === "off" || OPEN_PATHS.has(path) ? [] : [{ bearer: [] }],
  };
}

/** The routes app.ts registers before callerAuth. */
const OPEN_PATHS = new Set(["/healthz", "/readyz", "/metrics", "/openapi.json", "/docs"]);
