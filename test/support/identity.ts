import {
  createServer as createHttpServer,
  type IncomingMessage,
  type ServerResponse,
} from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair, type JWK, type JWTPayload, SignJWT } from "jose";

export const ISSUER = "https://kubernetes.default.svc.cluster.local";
export const ANTAEUS = "system:serviceaccount:antaeus:antaeus";

type KeyPair = Awaited<ReturnType<typeof generateKeyPair>>;

export interface SigningKey {
  kid: string;
  alg: "RS256" | "ES256";
  privateKey: KeyPair["privateKey"];
  jwk: JWK;
}

export async function signingKey(
  kid: string,
  alg: SigningKey["alg"] = "RS256",
): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg);
  return { kid, alg, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: "sig" } };
}

/** A token as the kubelet projects one: audience payment, an hour to live, unless overridden. */
export function token(key: SigningKey, claims: JWTPayload = {}, kid = key.kid): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({
    iss: ISSUER,
    aud: "payment",
    sub: ANTAEUS,
    iat: now,
    exp: now + 3600,
    ...claims,
  })
    .setProtectedHeader({ alg: key.alg, kid })
    .sign(key.privateKey);
}

/**
 * The issuer's key endpoint, as the Kubernetes API server serves it: a JWKS behind a bearer
 * token. Keys, the token it accepts, and whether it answers at all can change mid-test.
 */
export async function startJwksServer(tls?: { key: string; cert: string }) {
  const state = { keys: [] as JWK[], token: "", broken: false, fetches: 0 };
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    state.fetches++;
    if (state.broken) return res.writeHead(500).end();
    // An empty token: an issuer whose keys are public (an OIDC provider).
    if (state.token && req.headers.authorization !== `Bearer ${state.token}`) {
      return res.writeHead(401).end();
    }
    res.writeHead(200, { "Content-Type": "application/jwk-set+json" });
    res.end(JSON.stringify({ keys: state.keys }));
  };
  const server = tls ? createHttpsServer(tls, handle) : createHttpServer(handle);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `${tls ? "https" : "http"}://127.0.0.1:${port}/openid/v1/jwks`,
    state,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** alg "none": a token anyone could write. */
export function unsignedToken(payload: JWTPayload): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
  return `${part({ alg: "none" })}.${part(payload)}.`;
}
