import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createRemoteJWKSet, customFetch, type RemoteJWKSet } from "jose";
import { ConfigError } from "../../config-error.js";
import { getText } from "./get-text.js";

export interface JwksSource {
  url: string;
  /** Re-read on every fetch: projected service-account tokens rotate under a running pod. */
  tokenFile: string | undefined;
  /** Trusted for the JWKS URL only (the cluster CA), not for anything else this process calls. */
  caFile: string | undefined;
  cooldownMs: number;
  /** The setting that named the CA file, for the error when it cannot be read. */
  caFileSetting: string;
}

/** jose's key set, and how many times it has been fetched: a new fetch may have dropped a key. */
export type IssuerKeys = RemoteJWKSet & { readonly fetches: number };

/** jose's own bound on a key fetch is 5 s (its timeoutDuration), passed as the signal too. */
const FETCH_TIMEOUT_MS = 5_000;
/** A key set is a few kB; a cluster with many rotated keys, a few tens. */
const MAX_KEYS_BYTES = 1024 * 1024;
/** The first wait after a failed fetch; each further failure doubles it, up to the cooldown. */
const FIRST_RETRY_MS = 1_000;

/**
 * The issuer's signing keys, fetched on first use, cached, and fetched again when a token
 * names a key id the cache lacks (after the cooldown), which is how key rotation arrives.
 *
 * jose starts its cooldown only after a fetch that worked: while the key endpoint fails, every
 * request with an unknown key id would fetch again. So a failure holds further fetches off too,
 * 1 s after the first and doubling up to the cooldown, answering at once meanwhile (a 503 to the
 * caller, naming the last failure: /readyz's reason reads it); and only a fetch that brought a
 * key set counts in `fetches`, which forgets remembered verdicts.
 */
export function remoteKeySet(source: JwksSource): IssuerKeys {
  let fetches = 0;
  let failures = 0;
  let retryAt = 0;
  let lastFailure = "";
  // Read now, so a missing CA file stops the start.
  const ca = source.caFile ? readCa(source.caFile, source.caFileSetting) : undefined;
  const failed = (reason: string): never => {
    failures++;
    lastFailure = reason;
    retryAt = Date.now() + Math.min(source.cooldownMs, FIRST_RETRY_MS * 2 ** (failures - 1));
    throw new Error(
      `fetching the keys from ${source.url} failed (${failures} in a row): ${reason}`,
    );
  };
  const keys = createRemoteJWKSet(new URL(source.url), {
    cooldownDuration: source.cooldownMs,
    // node:http(s), not undici: the first fetch comes with the first readiness probe, on every
    // cold start (get-text.ts). jose reads the status and json() of what this returns.
    [customFetch]: async (url, options) => {
      const waitMs = retryAt - Date.now();
      if (waitMs > 0) {
        throw new Error(
          `the key endpoint failed ${failures} time(s) in a row, last: ${lastFailure}; next try in ${waitMs} ms`,
        );
      }
      const headers = Object.fromEntries(options.headers);
      if (source.tokenFile) {
        const file = await readFile(source.tokenFile, "utf8").catch((error: unknown) =>
          failed(`cannot read the token file: ${String(error)}`),
        );
        const token = file.trim();
        headers.authorization = `Bearer ${token}`;
      }
      const { status, body } = await getText(new URL(url), {
        headers,
        ca,
        timeoutMs: FETCH_TIMEOUT_MS,
        maxBytes: MAX_KEYS_BYTES,
        signal: options.signal,
      }).catch((error: unknown) => failed(String(error)));
      if (status !== 200) return failed(`HTTP ${status}`);
      let keySet: { keys?: unknown } | undefined;
      try {
        keySet = JSON.parse(body) as { keys?: unknown };
      } catch {
        keySet = undefined;
      }
      if (!Array.isArray(keySet?.keys)) return failed("not a JSON Web Key Set");
      failures = 0;
      fetches++;
      return Response.json(keySet);
    },
  });
  return Object.defineProperty(keys, "fetches", { get: () => fetches }) as IssuerKeys;
}

function readCa(file: string, setting: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (error) {
    throw new ConfigError(`${setting}: cannot read ${file}: ${String(error)}`);
  }
}
