import { createHash } from "node:crypto";
import { decodeJwt } from "jose";
import type { IssuerKeys } from "./jwks.js";
import type { TokenVerifier } from "./verifier.js";

/** Antaeus's replicas hold one token each at a time; the bound only stops a flood of others. */
const MAX_VERDICTS = 1024;

/**
 * Antaeus sends one token for up to an hour: verify it once (an RS256 signature costs more than
 * the rest of a charge), then answer from memory. Only acceptances are kept, keyed by the
 * token's SHA-256 so memory holds no token. A verdict is used only while the token has not
 * expired, the key set it was checked against has not been fetched again (a rotation may have
 * revoked its key), and jose would not fetch a stale key set; otherwise the token is verified
 * afresh.
 */
export function rememberVerdicts(verify: TokenVerifier, keys: IssuerKeys): TokenVerifier {
  const verdicts = new Map<string, { subject: string; expiresAtMs: number; keySet: number }>();
  return async (token) => {
    const id = createHash("sha256").update(token).digest("base64url");
    const known = verdicts.get(id);
    if (known) {
      if (known.keySet === keys.fetches && keys.fresh && Date.now() < known.expiresAtMs) {
        return known.subject;
      }
      verdicts.delete(id);
    }
    // Read before verifying: a fetch while the token is checked makes the verdict stale at once.
    const keySet = keys.fetches;
    const subject = await verify(token);
    // The verifier requires exp; decoding again is cheaper than widening its answer.
    const expiresAtMs = (decodeJwt(token).exp ?? 0) * 1000;
    if (verdicts.size >= MAX_VERDICTS) verdicts.delete(verdicts.keys().next().value as string);
    verdicts.set(id, { subject, expiresAtMs, keySet });
    return subject;
  };
}
