import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exportJWK, generateKeyPair, type JWK, SignJWT } from "jose";

/**
 * A stand-in for a cluster's API server, for what the functions ask of it: the service-account
 * issuer's discovery document and keys. Its wire format is kube-apiserver's:
 * - https, its certificate signed by a cluster CA (the file a pod finds at .../ca.crt), valid for
 *   127.0.0.1 and kubernetes.default.svc;
 * - the discovery document served byte for byte as recorded from a real cluster (fixtures/clusters/
 *   <name>/openid-configuration.json), with `application/json` and `public, max-age=3600`, and the
 *   keys as `application/jwk-set+json` (kubernetes pkg/routes/openidmetadata.go);
 * - only to a bearer token it knows (a service account, allowed by the default binding of
 *   system:service-account-issuer-discovery); anyone else gets a Status: 401 for an unknown token,
 *   403 for no token (system:anonymous is not bound).
 * It also signs tokens the way the kubelet's projection does, in the recorded issuer's name.
 */
export interface ApiServerStandIn {
  url: string;
  host: string;
  port: number;
  /** The recorded document's issuer. */
  issuer: string;
  /** The pod's API token and the cluster CA, as files (where a test mounts them). */
  tokenFile: string;
  caFile: string;
  /** The same, as text. */
  apiToken: string;
  ca: string;
  requests: Array<{ path: string; authorization: string | undefined }>;
  /** Set to make the key endpoint fail (500), as while the API server restarts. */
  state: { keysDown: boolean };
  token(subject: string, audience: string, claims?: Record<string, unknown>): Promise<string>;
  close(): Promise<void>;
}

const FIXTURES = new URL("../knative/fixtures/clusters/", import.meta.url);

const status = (code: number, reason: string, message: string) =>
  JSON.stringify({
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message,
    reason,
    ...(code === 403 ? { details: {} } : {}),
    code,
  });

export async function startApiServer(cluster: "kind" | "eks"): Promise<ApiServerStandIn> {
  const document = await readFile(new URL(`${cluster}/openid-configuration.json`, FIXTURES));
  const issuer = (JSON.parse(document.toString("utf8")) as { issuer: string }).issuer;
  const dir = await mkdtemp(join(tmpdir(), "api-server-"));
  const pki = certificates(dir);
  const { publicKey, privateKey } = await generateKeyPair("RS256");
  const kid = randomBytes(16).toString("base64url");
  const jwk: JWK = { use: "sig", kty: "RSA", kid, alg: "RS256", ...(await exportJWK(publicKey)) };
  const apiToken = randomBytes(24).toString("hex");
  const tokenFile = join(dir, "token");
  const caFile = join(dir, "ca.crt");
  await writeFile(tokenFile, apiToken, { mode: 0o644 });
  await writeFile(caFile, pki.ca, { mode: 0o644 });
  const requests: ApiServerStandIn["requests"] = [];
  const state = { keysDown: false };

  const server: Server = createServer({ key: pki.key, cert: pki.cert }, (req, res) => {
    const path = new URL(req.url ?? "/", "https://x").pathname;
    requests.push({ path, authorization: req.headers.authorization });
    const json = (code: number, body: string | Buffer, type = "application/json") =>
      res
        .writeHead(code, { "Content-Type": type, "Cache-Control": "public, max-age=3600" })
        .end(body);
    if (!req.headers.authorization) {
      return json(
        403,
        status(403, "Forbidden", `forbidden: User "system:anonymous" cannot get path "${path}"`),
      );
    }
    if (req.headers.authorization !== `Bearer ${apiToken}`) {
      return json(401, status(401, "Unauthorized", "Unauthorized"));
    }
    if (path === "/.well-known/openid-configuration") return json(200, document);
    if (path === "/openid/v1/jwks") {
      if (state.keysDown) return json(500, status(500, "InternalError", "keys unavailable"));
      return json(200, JSON.stringify({ keys: [jwk] }), "application/jwk-set+json");
    }
    return json(404, status(404, "NotFound", "the server could not find the requested resource"));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `https://127.0.0.1:${port}`,
    host: "127.0.0.1",
    port,
    issuer,
    tokenFile,
    caFile,
    apiToken,
    ca: pki.ca,
    requests,
    state,
    token: (subject, audience, claims = {}) =>
      new SignJWT({ ...claims })
        .setProtectedHeader({ alg: "RS256", kid })
        .setIssuer(String(claims.iss ?? issuer))
        .setSubject(subject)
        .setAudience(audience)
        .setIssuedAt()
        .setExpirationTime("1h")
        .sign(privateKey),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A cluster CA and the API server's certificate it signed, as kubeadm makes them. */
function certificates(dir: string) {
  const openssl = (...args: string[]) => execFileSync("openssl", args, { stdio: "ignore" });
  const file = (name: string) => join(dir, name);
  openssl(
    ...["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"],
    ...["-keyout", file("ca.key"), "-out", file("ca.pem"), "-days", "1", "-subj", "/CN=kubernetes"],
  );
  openssl(
    ...["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"],
    ...["-keyout", file("server.key"), "-out", file("server.csr"), "-subj", "/CN=kube-apiserver"],
  );
  writeFileSync(
    file("san.ext"),
    "subjectAltName=IP:127.0.0.1,DNS:kubernetes,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local\n",
  );
  openssl(
    ...["x509", "-req", "-in", file("server.csr"), "-CA", file("ca.pem"), "-CAkey", file("ca.key")],
    ...["-CAcreateserial", "-out", file("server.pem"), "-days", "1", "-extfile", file("san.ext")],
  );
  const read = (name: string) => readFileSync(file(name), "utf8");
  return { ca: read("ca.pem"), key: read("server.key"), cert: read("server.pem") };
}
