import { errors, type JWTVerifyGetKey, jwtVerify } from "jose";
import { ApiError } from "../../runtime/index.js";

export interface TokenPolicy {
  issuer: string;
  audience: string;
  subjects: readonly string[];
}

/** Why a caller was refused, for the log line: jose's reason, never the token. */
export class CallerRefused extends ApiError {
  constructor(
    status: 401 | 403,
    message: string,
    readonly reason: string,
  ) {
    super(
      status === 401 ? "unauthenticated" : "forbidden",
      message,
      status === 401 ? { "WWW-Authenticate": 'Bearer realm="payment"' } : {},
    );
  }
}

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

export const unauthenticated = (reason: string) =>
  new CallerRefused(401, "a valid bearer token is required", reason);

/**
 * Verifies a workload-identity token (a Kubernetes projected service-account token): signature
 * against the issuer's keys, issuer, audience, expiry; then the subject must be one allowed.
 * Resolves to the subject; rejects with CallerRefused, or with what broke (the JWKS fetch).
 */
export function tokenVerifier(keys: JWTVerifyGetKey, policy: TokenPolicy) {
  return async (token: string): Promise<string> => {
    let subject: string;
    try {
      const { payload } = await jwtVerify(token, keys, {
        issuer: policy.issuer,
        audience: policy.audience,
        algorithms: ["RS256", "ES256"],
        requiredClaims: ["exp", "sub"],
        clockTolerance: 5,
      });
      subject = payload.sub ?? "";
    } catch (error) {
      if (error instanceof errors.JOSEError && TOKEN_FAULTS.has(error.code)) {
        throw unauthenticated(error.message);
      }
      throw error;
    }
    if (!policy.subjects.includes(subject)) {
      throw new CallerRefused(
        403,
        `${subject} may not call payment`,
        `subject ${subject} not allowed`,
      );
    }
    return subject;
  };
}

export type TokenVerifier = ReturnType<typeof tokenVerifier>;
