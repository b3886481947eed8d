import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { JWTPayload } from "jose";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { expectError } from "../support/api-error.js";
import {
  ANTAEUS,
  ISSUER,
  type SigningKey,
  signingKey,
  startJwksServer,
  token,
} from "../support/identity.js";
import { inProcessAntaeus, inProcessPayment } from "../support/in-process.js";

// Both functions verify bearer tokens through the runtime's trusted issuer (runtime/web/auth/):
// `exp` required, and an acceptance remembered only while the token lives and its key is still
// in the issuer's set. Each function is checked on its own guarded read.

const READER = "system:serviceaccount:antaeus:antaeus-reader";

interface Guarded {
  close: () => Promise<void>;
  /** A token for this function's audience and a subject it serves. */
  tokenFor: (key: SigningKey, claims?: JWTPayload) => Promise<string>;
  /** A guarded read, with the bearer token. */
  read: (bearer: string) => Response | Promise<Response>;
}

let jwks: Awaited<ReturnType<typeof startJwksServer>>;
let dir: string;

beforeAll(async () => {
  jwks = await startJwksServer();
  dir = await mkdtemp(join(tmpdir(), "remembered-tokens-"));
});
afterAll(async () => {
  await jwks?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});
afterEach(() => {
  vi.useRealTimers();
});

const FUNCTIONS: Record<"payment" | "antaeus", () => Promise<Guarded>> = {
  payment: async () => {
    const harness = await inProcessPayment({
      PAYMENT_AUTH: "jwks",
      PAYMENT_AUTH_ISSUER: ISSUER,
      PAYMENT_AUTH_SUBJECT: ANTAEUS,
      PAYMENT_AUTH_JWKS_URL: jwks.url,
      PAYMENT_AUTH_JWKS_COOLDOWN_MS: "0",
    });
    return {
      close: harness.close,
      tokenFor: (key, claims) => token(key, claims),
      read: (bearer) =>
        harness.app.request("/v1/charges?invoice_id=1", {
          headers: { Authorization: `Bearer ${bearer}` },
        }),
    };
  },
  antaeus: async () => {
    const authFile = join(dir, "auth.json");
    const selfToken = join(dir, "self-token");
    await writeFile(selfToken, "unused: no run continues here\n");
    await writeFile(
      authFile,
      JSON.stringify({
        issuers: [{ issuer: ISSUER, audiences: ["antaeus"], jwksUrl: jwks.url, jwksCooldownMs: 0 }],
        roles: { reader: { subjects: [READER] } },
      }),
    );
    const harness = await inProcessAntaeus({
      ANTAEUS_AUTH: "on",
      ANTAEUS_AUTH_CONFIG_FILE: authFile,
      BILLING_SELF_TOKEN_FILE: selfToken,
      SEED_ENABLED: "false",
    });
    return {
      close: harness.close,
      tokenFor: (key, claims) => token(key, { aud: "antaeus", sub: READER, ...claims }),
      read: (bearer) =>
        harness.app.request("/rest/v1/invoices", {
          headers: { Authorization: `Bearer ${bearer}` },
        }),
    };
  },
};

describe.each(Object.keys(FUNCTIONS) as Array<keyof typeof FUNCTIONS>)("%s", (name) => {
  let fn: Guarded;
  let key: SigningKey;
  beforeAll(async () => {
    key = await signingKey(`${name}-1`);
    jwks.state.keys = [key.jwk];
    fn = await FUNCTIONS[name]();
  });
  afterAll(() => fn?.close());

  const refused = async (response: Response) => {
    expect(response.headers.get("www-authenticate")).toMatch(/^Bearer/);
    await expectError(response, 401, "unauthenticated", "token");
  };

  it("serves a token of the trusted issuer, and refuses one without exp (a leaked one would work for ever)", async () => {
    jwks.state.keys = [key.jwk];
    expect((await fn.read(await fn.tokenFor(key))).status).toBe(200);
    await refused(await fn.read(await fn.tokenFor(key, { exp: undefined })));
  });

  it("refuses a remembered token once it expires", async () => {
    jwks.state.keys = [key.jwk];
    // The clock is moved, not waited for: Date only, timers run as ever.
    vi.useFakeTimers({ toFake: ["Date"] });
    const exp = Math.floor(Date.now() / 1000) + 60;
    const shortLived = await fn.tokenFor(key, { exp });
    // Twice: the first may fetch the key set, which leaves nothing remembered from before it.
    for (let i = 0; i < 2; i++) expect((await fn.read(shortLived)).status).toBe(200);
    // Past exp and the verifier's 5 s clock tolerance.
    vi.setSystemTime((exp + 6) * 1000);
    await refused(await fn.read(shortLived));
  });

  it("refuses a remembered token once the issuer rotates its key out", async () => {
    const [old, successor] = await Promise.all([
      signingKey(`${name}-revoked`),
      signingKey(`${name}-successor`),
    ]);
    jwks.state.keys = [old.jwk];
    const accepted = await fn.tokenFor(old);
    for (let i = 0; i < 2; i++) expect((await fn.read(accepted)).status).toBe(200);
    // The new key arrives with the first token it signed; the old one is gone from the set.
    jwks.state.keys = [successor.jwk];
    expect((await fn.read(await fn.tokenFor(successor))).status).toBe(200);
    await refused(await fn.read(accepted));
  });
});
