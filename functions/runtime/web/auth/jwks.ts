import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createRemoteJWKSet, customFetch, type RemoteJWKSet } from "jose";
import type { Agent } from "undici";
import { ConfigError } from "../../config-error.js";

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

/** The first wait after a failed fetch; each further failure doubles it, up to the cooldown. */
const FIRST_RETRY_MS = 1_000;

/**
 * The issuer's signing keys, fetched on first use, cached, and fetched again when a token
 * names a key id the cache lacks (after the cooldown), which is how key rotation arrives.
 *
 * jose starts its cooldown only after a fetch that worked: while the key endpoint fails, every
 * request with an unknown key id would fetch again. So a failure holds further fetches off too,
 * 1 s after the first and doubling up to the cooldown, answering at once meanwhile (a 503 to the
 * caller); and only a fetch that brought a key set counts in `fetches`, which forgets remembered
 * verdicts.
 */
export function remoteKeySet(source: JwksSource): IssuerKeys {
  let fetches = 0;
  let failures = 0;
  let retryAt = 0;
  // Read now, so a missing CA file stops the start; undici itself is loaded by the first key
  // fetch (the first token), not by every cold start: it is the largest module in the bundle.
  const ca = source.caFile ? readCa(source.caFile, source.caFileSetting) : undefined;
  let dispatcher: Agent | undefined;
  const failed = (reason: string): never => {
    failures++;
    retryAt = Date.now() + Math.min(source.cooldownMs, FIRST_RETRY_MS * 2 ** (failures - 1));
    throw new Error(
      `fetching the keys from ${source.url} failed (${failures} in a row): ${reason}`,
    );
  };
  const keys = createRemoteJWKSet(new URL(source.url), {
    cooldownDuration: source.cooldownMs,
    [customFetch]: async (url, options) => {
      const waitMs = retryAt - Date.now();
      if (waitMs > 0) {
        throw new Error(
          `the key endpoint failed ${failures} time(s) in a row; next try in ${waitMs} ms`,
        );
      }
      const headers = Object.fromEntries(options.headers);
      if (source.tokenFile) {
        const token = (await readFile(source.tokenFile, "utf8")).trim();
        headers.authorization = `Bearer ${token}`;
      }
      // undici is CommonJS: inside the bundle, import() holds its exports only under `default`.
      const { default: undici } = await import("undici");
      if (ca && !dispatcher) dispatcher = new undici.Agent({ connect: { ca } });
      const response = await undici
        .fetch(url, { ...options, headers, dispatcher })
        .catch((error: unknown) => failed(String(error)));
      if (response.status !== 200) return failed(`HTTP ${response.status}`);
      const body = (await response.json().catch(() => undefined)) as { keys?: unknown } | undefined;
      if (!Array.isArray(body?.keys)) return failed("not a JSON Web Key Set");
      failures = 0;
      fetches++;
      return Response.json(body);
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
