import { readFileSync } from "node:fs";
import { type ConnectionOptions, checkServerIdentity, type PeerCertificate } from "node:tls";
import { ConfigError } from "../config-error.js";

/**
 * libpq's sslmode values this runtime takes from DATABASE_URL, in libpq's meaning
 * (postgresql.org/docs/current/libpq-ssl.html, table "SSL Mode Descriptions"). "allow" (plain
 * first, TLS only if refused) is left out: no server here needs it, and "prefer" covers the case.
 */
const SSL_MODES = ["disable", "prefer", "require", "verify-ca", "verify-full"] as const;
type SslMode = (typeof SSL_MODES)[number];

/** A DATABASE_URL's TLS settings, and the URL without them. */
export interface DatabaseTls {
  url: string;
  /** The host connected to, which verify-full checks the certificate names. */
  host: string;
  mode: SslMode;
  /** A PEM file of the CAs to trust, or "system"; null when not given. */
  rootCert: string | null;
}

/**
 * The TLS settings of a DATABASE_URL, read as libpq reads them, since postgres.js does not: it
 * takes "verify-ca" as "verify-full", turns TLS on for any value it does not know (a typo
 * included), trusts only the system's CAs, and sends a `sslrootcert` path to the server as a
 * setting, which the server refuses. No sslmode is "prefer", libpq's default. A message naming
 * the problem for what cannot be honoured.
 */
export function databaseTls(url: string): DatabaseTls | string {
  const parsed = new URL(url);
  const mode = parsed.searchParams.get("sslmode") ?? "prefer";
  const rootCert = parsed.searchParams.get("sslrootcert");
  parsed.searchParams.delete("sslmode");
  parsed.searchParams.delete("sslrootcert");
  if (!(SSL_MODES as readonly string[]).includes(mode)) {
    return `sslmode=${mode} is not one of ${SSL_MODES.join(", ")}`;
  }
  if (rootCert !== null && (mode === "disable" || mode === "prefer")) {
    return `sslrootcert is used only with sslmode=require, verify-ca or verify-full, not ${mode}`;
  }
  const host = parsed.hostname.replace(/^\[(.*)\]$/, "$1");
  return { url: parsed.toString(), host, mode: mode as SslMode, rootCert };
}

/**
 * postgres.js's `ssl` option for these settings: "prefer" is TLS when the server offers it and
 * "require" always, both unverified (libpq's meaning); "verify-ca" verifies the chain against
 * sslrootcert (its file read here, or the system's CAs), "verify-full" the host name too, and
 * "require" with an sslrootcert is "verify-ca", as in libpq.
 */
export function sslOption(tls: DatabaseTls): false | "prefer" | "require" | ConnectionOptions {
  if (tls.mode === "disable") return false;
  if (tls.mode === "prefer" || (tls.mode === "require" && tls.rootCert === null)) return tls.mode;
  const ca = tls.rootCert === null || tls.rootCert === "system" ? undefined : readCa(tls.rootCert);
  return {
    rejectUnauthorized: true,
    ...(ca ? { ca } : {}),
    // verify-full checks the name against the host in the URL: postgres.js gives Node no host
    // to check when it is an address, and Node then checks "localhost". verify-ca checks the
    // chain only.
    checkServerIdentity:
      tls.mode === "verify-full"
        ? (_: string, cert: PeerCertificate) => checkServerIdentity(tls.host, cert)
        : () => undefined,
  };
}

/** The URL and `ssl` option postgres.js is given for a DATABASE_URL. */
export function databaseClient(url: string) {
  const tls = databaseTls(url);
  if (typeof tls === "string") throw new ConfigError(`DATABASE_URL: ${tls}`);
  return { url: tls.url, ssl: sslOption(tls) };
}

function readCa(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (error) {
    throw new ConfigError(`DATABASE_URL: cannot read sslrootcert ${file}: ${String(error)}`);
  }
}
