import { readFile } from "node:fs/promises";
import { getText } from "./get-text.js";

/**
 * The cluster's service-account issuer, read from the API server the pod runs under, so that no
 * one has to copy it into the manifests. What Kubernetes guarantees (test/knative/SOURCES.md):
 * - every API server since 1.21 serves the discovery document at DISCOVERY_PATH and the issuer's
 *   keys at KEYS_PATH itself (pkg/routes/openidmetadata.go), whatever `jwks_uri` the document
 *   advertises: --service-account-jwks-uri only rewrites that field
 *   (pkg/serviceaccount/openidmetadata.go), and on managed clusters it names a host outside the
 *   cluster or one a pod cannot reach. So the keys are always read from KEYS_PATH here;
 * - both paths are readable by every service account: the ClusterRole
 *   system:service-account-issuer-discovery, bound by default to the group
 *   system:serviceaccounts (not to all authenticated users), plugin/pkg/auth/authorizer/rbac/
 *   bootstrappolicy/policy.go.
 */
export const DISCOVERY_PATH = "/.well-known/openid-configuration";
export const KEYS_PATH = "/openid/v1/jwks";

/** The pod's own API credentials, where the kubelet mounts them (client-go rest.InClusterConfig). */
const IN_CLUSTER_TOKEN_FILE = "/var/run/secrets/kubernetes.io/serviceaccount/token";
const IN_CLUSTER_CA_FILE = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt";

export interface ApiServer {
  /** https://HOST:PORT */
  url: string;
  tokenFile: string;
  caFile: string;
}

/** Where an issuer's name comes from: configuration, or the API server's discovery document. */
export type IssuerName =
  | { kind: "configured"; issuer: string }
  | { kind: "discovered"; apiServer: ApiServer };

/**
 * The API server of the pod, as client-go's InClusterConfig finds it: KUBERNETES_SERVICE_HOST
 * and KUBERNETES_SERVICE_PORT, which Kubernetes sets in every container. Undefined outside a
 * cluster.
 */
export function inClusterApiServer(
  env: {
    KUBERNETES_SERVICE_HOST?: string | undefined;
    KUBERNETES_SERVICE_PORT?: string | undefined;
  },
  files: { tokenFile?: string | undefined; caFile?: string | undefined } = {},
): ApiServer | undefined {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port) return undefined;
  return {
    url: `https://${host.includes(":") ? `[${host}]` : host}:${port}`,
    tokenFile: files.tokenFile ?? IN_CLUSTER_TOKEN_FILE,
    caFile: files.caFile ?? IN_CLUSTER_CA_FILE,
  };
}

/** What the discovery document says; only `issuer` is used (the keys are read from KEYS_PATH). */
export interface Discovery {
  issuer: string;
  advertisedJwksUri: string | undefined;
}

const DISCOVERY_TIMEOUT_MS = 5_000;
const MAX_DOCUMENT_BYTES = 64 * 1024;

/** Reads the discovery document with the pod's token, trusting only the cluster CA. */
export async function readDiscovery(apiServer: ApiServer): Promise<Discovery> {
  const [token, ca] = await Promise.all([
    readFile(apiServer.tokenFile, "utf8"),
    readFile(apiServer.caFile, "utf8"),
  ]);
  const url = new URL(DISCOVERY_PATH, apiServer.url);
  const { status, body } = await getText(url, {
    ca,
    headers: { authorization: `Bearer ${token.trim()}`, accept: "application/json" },
    timeoutMs: DISCOVERY_TIMEOUT_MS,
    maxBytes: MAX_DOCUMENT_BYTES,
  });
  if (status !== 200) throw new Error(`HTTP ${status} from ${url.href}: ${body.slice(0, 200)}`);
  const text = body;
  return parseDiscovery(text);
}

/** The fields a relying party needs; the issuer must be an https URL (OIDC Discovery 1.0, 4.3). */
export function parseDiscovery(text: string): Discovery {
  const document = JSON.parse(text) as { issuer?: unknown; jwks_uri?: unknown };
  const issuer = document.issuer;
  if (typeof issuer !== "string" || !issuer.startsWith("https://")) {
    throw new Error(`the discovery document names no https issuer: ${JSON.stringify(issuer)}`);
  }
  const jwksUri = document.jwks_uri;
  return { issuer, advertisedJwksUri: typeof jwksUri === "string" ? jwksUri : undefined };
}

/** An issuer's name when needed: constant when configured, read once (and on demand) when discovered. */
export interface IssuerResolver {
  readonly name: IssuerName;
  /** The issuer tokens must name. A failed discovery rejects, and is tried again at the next call. */
  current(): Promise<string>;
  /**
   * Reads the discovery document again, at most once per `retryMs`: an issuer can change under
   * a running pod (AKS changes it when its OIDC issuer is turned on).
   */
  refresh(): Promise<string>;
}

export function issuerResolver(name: IssuerName, retryMs = 1_000): IssuerResolver {
  if (name.kind === "configured") {
    const fixed = Promise.resolve(name.issuer);
    return { name, current: () => fixed, refresh: () => fixed };
  }
  let known: Promise<string> | undefined;
  let lastReadAt = Number.NEGATIVE_INFINITY;
  const read = () => {
    lastReadAt = Date.now();
    const reading = readDiscovery(name.apiServer).then(
      (discovery) => discovery.issuer,
      (error: unknown) => {
        throw new Error(`cannot read the issuer from ${name.apiServer.url}${DISCOVERY_PATH}`, {
          cause: error,
        });
      },
    );
    known = reading;
    return reading;
  };
  return {
    name,
    current: () => {
      if (known === undefined) return read();
      // A failure is kept for retryMs, so a probe every second does not become a request storm.
      return known.catch((error: unknown) => {
        if (Date.now() - lastReadAt < retryMs) throw error;
        return read();
      });
    },
    refresh: () => (Date.now() - lastReadAt < retryMs && known ? known : read()),
  };
}

/** How a resolver's issuer is named in logs: the value, or where it is read from. */
export const describeIssuer = (name: IssuerName): string =>
  name.kind === "configured" ? name.issuer : `discovered at ${name.apiServer.url}${DISCOVERY_PATH}`;
