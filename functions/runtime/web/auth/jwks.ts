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

/**
 * The issuer's signing keys, fetched on first use, cached, and fetched again when a token
 * names a key id the cache lacks (after the cooldown), which is how key rotation arrives.
 */
export function remoteKeySet(source: JwksSource): IssuerKeys {
  let fetches = 0;
  // Read now, so a missing CA file stops the start; undici itself is loaded by the first key
  // fetch (the first token), not by every cold start: it is the largest module in the bundle.
  const ca = source.caFile ? readCa(source.caFile, source.caFileSetting) : undefined;
  let dispatcher: Agent | undefined;
  const keys = createRemoteJWKSet(new URL(source.url), {
    cooldownDuration: source.cooldownMs,
    [customFetch]: async (url, options) => {
      const headers = Object.fromEntries(options.headers);
      if (source.tokenFile) {
        const token = (await readFile(source.tokenFile, "utf8")).trim();
        headers.authorization = `Bearer ${token}`;
      }
      fetches++;
      // undici is CommonJS: inside the bundle, import() holds its exports only under `default`.
      const { default: undici } = await import("undici");
      if (ca && !dispatcher) dispatcher = new undici.Agent({ connect: { ca } });
      const response = await undici.fetch(url, { ...options, headers, dispatcher });
      // undici's Response is the one Node's global fetch returns; jose reads status and json().
      return response as unknown as Response;
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
