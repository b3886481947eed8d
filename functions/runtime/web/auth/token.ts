import { errors, type JWTPayload, type JWTVerifyGetKey, jwtVerify } from "jose";
import { ApiError, RUNTIME_ERROR_STATUS } from "../errors.js";

/** What a 401 says: the realm named in WWW-Authenticate, and how a person gets a token. */
export interface Challenge {
  realm: string;
  message: string;
}

/** Why a caller was refused, for the log line: jose's reason, never the token. */
export class CallerRefused extends ApiError {
  constructor(
    status: 401 | 403,
    message: string,
    readonly reason: string,
    realm: string,
  ) {
    const code = status === 401 ? "unauthenticated" : "forbidden";
    super(
      code,
      RUNTIME_ERROR_STATUS[code],
      message,
      status === 401 ? { "WWW-Authenticate": `Bearer realm="${realm}"` } : {},
    );
  }
}

/**
 * A token signed by the issuer's own keys that names another issuer: not a forgery, a
 * configuration that disagrees with the cluster (the issuer set by hand, or changed since).
 */
export class IssuerMismatch extends CallerRefused {
  constructor(
    challenge: Challenge,
    readonly expected: string,
    readonly seen: string,
  ) {
    super(
      401,
      challenge.message,
      `issuer ${seen} is not the expected ${expected}`,
      challenge.realm,
    );
  }
}

export const unauthenticated = (challenge: Challenge, reason: string) =>
  new CallerRefused(401, challenge.message, reason, challenge.realm);

export const forbidden = (challenge: Challenge, message: string, reason: string) =>
  new CallerRefused(403, message, reason, challenge.realm);

/** jose errors that mean the token is bad; any other failure is ours (the JWKS is unreachable). */
const TOKEN_FAULTS = new Set([
  "ERR_JWT_EXPIRED",
  "ERR_JWT_CLAIM_VALIDATION_FAILED",
  "ERR_JWT_INVALID",
  "ERR_JWS_INVALID",
  "ERR_JWS_SIGNATURE_VERIFICATION_FAILED",
  "ERR_JWKS_NO_MATCHING_KEY",
  "ERR_JWKS_MULTIPLE_MATCHING_KEYS",
  "ERR_JOSE_ALG_NOT_ALLOWED",
  "ERR_JOSE_NOT_SUPPORTED",
]);

export interface IssuerPolicy {
  issuer: string;
  /** The token's `aud` must hold one of these. */
  audiences: readonly string[];
}

/**
 * Verifies a bearer JWT (a Kubernetes projected service-account token, or an OIDC issuer's):
 * signature against the issuer's keys, issuer, audience, expiry, and a subject. Resolves to its
 * claims; rejects with a 401 CallerRefused, or with what broke (the JWKS fetch).
 */
export async function verifyToken(
  token: string,
  keys: JWTVerifyGetKey,
  policy: IssuerPolicy,
  challenge: Challenge,
): Promise<JWTPayload & { sub: string }> {
  try {
    const { payload } = await jwtVerify(token, keys, {
      issuer: policy.issuer,
      audience: [...policy.audiences],
      algorithms: ["RS256", "ES256"],
      requiredClaims: ["exp", "sub"],
      clockTolerance: 5,
    });
    return payload as JWTPayload & { sub: string };
  } catch (error) {
    // jose checks claims only after the signature: this token was signed by the issuer's keys.
    if (error instanceof errors.JWTClaimValidationFailed && error.claim === "iss") {
      throw new IssuerMismatch(challenge, policy.issuer, String(error.payload.iss));
    }
    if (error instanceof errors.JOSEError && TOKEN_FAULTS.has(error.code)) {
      throw unauthenticated(challenge, error.message);
    }
    throw error;
  }
}
