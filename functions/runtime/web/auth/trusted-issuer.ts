import type { JWTPayload } from "jose";
import type { Logger } from "../../logger.js";
import { DependencyProblem } from "../http.js";
import { describeIssuer, type IssuerName, issuerResolver } from "./cluster-issuer.js";
import { type JwksSource, remoteKeySet } from "./jwks.js";
import { type Challenge, IssuerMismatch, verifyToken } from "./token.js";
import { rememberVerdicts } from "./verdict-cache.js";

export interface TrustedIssuerSettings {
  name: IssuerName;
  keys: JwksSource;
  /** The token's `aud` must hold one of these. */
  audiences: readonly string[];
  challenge: Challenge;
}

const PROBE_RETRY_MS = 1_000;

/**
 * One issuer a function accepts tokens from: its keys, its name (configured, or read from the
 * API server), one verification per token remembered until it expires, and what is wrong when
 * tokens cannot be verified, in the three codes below (closed: the probe is public).
 *
 * - `ready` fails until the issuer is known and its keys have been fetched once: a function that
 *   can verify no token (issuer-unknown, keys-unreachable) has nothing to serve behind its auth.
 *   Once keys are in hand it stays ready: cached keys keep verifying while the API server is away.
 * - `degraded` fails while tokens signed by the issuer's own keys name another issuer
 *   (issuer-mismatch): every such caller gets 401, and being routed to changes nothing, so this is
 *   said loudly instead of taking the function out of service. A discovered issuer is read again
 *   first, as the cluster may have changed it.
 */
export function trustedIssuer(settings: TrustedIssuerSettings, logger: Logger) {
  const keys = remoteKeySet(settings.keys);
  const issuer = issuerResolver(settings.name);
  const describe = describeIssuer(settings.name);
  let mismatch: IssuerMismatch | undefined;
  const mismatchesLogged = new Set<string>();

  const checkOnce = async (token: string) => {
    const expected = await issuer.current();
    const policy = { issuer: expected, audiences: settings.audiences };
    return verifyToken(token, keys, policy, settings.challenge);
  };
  const verifyFresh = async (token: string): Promise<JWTPayload & { sub: string }> => {
    try {
      const claims = await checkOnce(token);
      mismatch = undefined;
      return claims;
    } catch (error) {
      if (!(error instanceof IssuerMismatch)) throw error;
      if (settings.name.kind === "discovered" && (await issuer.refresh()) === error.seen) {
        logger.warn({ issuer: error.seen, was: error.expected }, "the cluster's issuer changed");
        return checkOnce(token);
      }
      mismatch = error;
      if (!mismatchesLogged.has(error.seen)) {
        mismatchesLogged.add(error.seen);
        logger.error(
          { expected: error.expected, seen: error.seen, issuer: describe },
          "issuer mismatch: tokens signed by the issuer's keys name another issuer; every such caller is refused (401) until the configured issuer is the cluster's",
        );
      }
      throw error;
    }
  };
  const verify = rememberVerdicts(verifyFresh, keys);

  let lastKeyAttemptAt = Number.NEGATIVE_INFINITY;
  let lastKeyError: unknown;
  const ready = async () => {
    try {
      await issuer.current();
    } catch (error) {
      throw new DependencyProblem("issuer-unknown", describe, error);
    }
    if (keys.jwks() !== undefined) return;
    // Probes come every second: at most one key fetch per second while none has succeeded.
    if (Date.now() - lastKeyAttemptAt >= PROBE_RETRY_MS) {
      lastKeyAttemptAt = Date.now();
      lastKeyError = await keys.reload().then(
        () => undefined,
        (error: unknown) => error ?? new Error("key fetch failed"),
      );
    }
    if (keys.jwks() === undefined) {
      throw new DependencyProblem("keys-unreachable", settings.keys.url, lastKeyError);
    }
  };
  const degraded = async () => {
    if (mismatch) {
      throw new DependencyProblem(
        "issuer-mismatch",
        `expected ${mismatch.expected}, tokens name ${mismatch.seen}`,
      );
    }
  };
  return { verify, ready, degraded, issuer, keys, describe };
}
