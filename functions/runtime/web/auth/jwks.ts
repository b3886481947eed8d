import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createRemoteJWKSet, customFetch, type JWTVerifyGetKey } from "jose";
import { Agent, fetch as undiciFetch } from "undici";
import { ConfigError } from "../../process/config.js";

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

/**
 * The issuer's signing keys, fetched on first use, cached, and fetched again when a token
 * names a key id the cache lacks (after the cooldown), which is how key rotation arrives.
 */
export function remoteKeySet(source: JwksSource): JWTVerifyGetKey {
  const dispatcher = source.caFile
    ? new Agent({ connect: { ca: readCa(source.caFile, source.caFileSetting) } })
    : undefined;
  return createRemoteJWKSet(new URL(source.url), {
    cooldownDuration: source.cooldownMs,
    [customFetch]: async (url, options) => {
      const headers = Object.fromEntries(options.headers);
      if (source.tokenFile) {
        const token = (await readFile(source.tokenFile, "utf8")).trim();
        headers.authorization = `Bearer ${token}`;
      }
      const response = await undiciFetch(url, { ...options, headers, dispatcher });
      // undici's Response is the one Node's global fetch returns; jose reads status and json().
      return response as unknown as Response;
    },
  });
}

function readCa(file: string, setting: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (error) {
    throw new ConfigError(`${setting}: cannot read ${file}: ${String(error)}`);
  }
}
