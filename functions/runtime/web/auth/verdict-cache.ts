import { createHash } from "node:crypto";
import type { JWTPayload } from "jose";
import type { IssuerKeys } from "./jwks.js";

/** A caller holds one token at a time per replica; the bound only stops a flood of others. */
const MAX_VERDICTS = 1024;

type Verified = JWTPayload & { sub: string };

/**
 * A caller sends one token for up to an hour: verify it once (an RS256 signature costs more than
 * the rest of a request), then answer from memory. Only acceptances are kept, keyed by the
 * token's SHA-256 so memory holds no token. A verdict is used only while the token has not
 * expired, the key set it was checked against has not been fetched again (a rotation may have
 * revoked its key), and jose would not fetch a stale key set; otherwise the token is verified
 * afresh. What the caller may do (subjects, roles) is decided from the claims on every request.
 */
export function rememberVerdicts<V extends Verified>(
  verify: (token: string) => Promise<V>,
  keys: IssuerKeys,
): (token: string) => Promise<V> {
  const verdicts = new Map<string, { claims: V; expiresAtMs: number; keySet: number }>();
  return async (token) => {
    const id = createHash("sha256").update(token).digest("base64url");
    const known = verdicts.get(id);
    if (known) {
      if (known.keySet === keys.fetches && keys.fresh && Date.now() < known.expiresAtMs) {
        return known.claims;
      }
      verdicts.delete(id);
    }
    // Read before verifying: a fetch while the token is checked makes the verdict stale at once.
    const keySet = keys.fetches;
    const claims = await verify(token);
    // The verifier requires exp.
    const expiresAtMs = (claims.exp ?? 0) * 1000;
    if (verdicts.size >= MAX_VERDICTS) verdicts.delete(verdicts.keys().next().value as string);
    verdicts.set(id, { claims, expiresAtMs, keySet });
    return claims;
  };
}
