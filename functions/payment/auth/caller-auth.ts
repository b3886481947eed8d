import type { MiddlewareHandler } from "hono";
import type { AppEnv, Logger } from "../../runtime/index.js";
import type { AuthConfig } from "../config.js";
import { remoteKeySet } from "./jwks.js";
import { requireCaller } from "./middleware.js";
import { tokenVerifier } from "./verifier.js";

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
  const keys = remoteKeySet({
    url: auth.jwksUrl,
    tokenFile: auth.jwksTokenFile,
    caFile: auth.jwksCaFile,
    cooldownMs: auth.jwksCooldownMs,
  });
  return requireCaller(tokenVerifier(keys, auth));
}
