import { execFileSync } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectError } from "../support/api-error.js";
import {
  ANTAEUS,
  ISSUER,
  type SigningKey,
  signingKey,
  startJwksServer,
  token,
  unsignedToken,
} from "../support/identity.js";
import { metricsUrlOf } from "../support/processes.js";
import { type Payment, postCharge, startPayment } from "./support.js";

const RECONCILER = "system:serviceaccount:ops:reconciler";
const aCharge = { invoice_id: 1, customer_id: 1, currency: "EUR", value: 10 };

let jwks: Awaited<ReturnType<typeof startJwksServer>>;
let payment: Payment;
let rsa: SigningKey;
let ec: SigningKey;
let tokenFile: string;

beforeAll(async () => {
  [rsa, ec] = await Promise.all([signingKey("rsa-1"), signingKey("ec-1", "ES256")]);
  jwks = await startJwksServer();
  jwks.state.keys = [rsa.jwk, ec.jwk];
  jwks.state.token = "reader-token-1";
  tokenFile = join(await mkdtemp(join(tmpdir(), "payment-auth-")), "token");
  await writeFile(tokenFile, "reader-token-1\n");
  payment = await startPayment({
    PAYMENT_AUTH: "jwks",
    PAYMENT_AUTH_ISSUER: ISSUER,
    PAYMENT_AUTH_SUBJECT: `${ANTAEUS}, ${RECONCILER}`,
    PAYMENT_AUTH_JWKS_URL: jwks.url,
    PAYMENT_AUTH_JWKS_TOKEN_FILE: tokenFile,
    PAYMENT_AUTH_JWKS_COOLDOWN_MS: "0",
    METRICS_PORT: "0",
  });
});
afterAll(async () => {
  await payment?.stop();
  await jwks?.close();
  if (tokenFile) await rm(dirname(tokenFile), { recursive: true, force: true });
});

const withToken = (bearer: string) => ({ headers: { Authorization: `Bearer ${bearer}` } });

async function expectUnauthenticated(response: Response) {
  expect(response.headers.get("www-authenticate")).toMatch(/^Bearer/);
  await expectError(response, 401, "unauthenticated", "bearer token");
}

describe("only Antaeus may charge", () => {
  it("401s a request without a token, or with another scheme", async () => {
    await expectUnauthenticated(await postCharge(payment.url, aCharge));
    await expectUnauthenticated(
      await postCharge(payment.url, aCharge, { headers: { Authorization: "Basic YTpi" } }),
    );
  });

  it("401s a garbled token and an unsigned one", async () => {
    await expectUnauthenticated(await postCharge(payment.url, aCharge, withToken("abc.def.ghi")));
    const now = Math.floor(Date.now() / 1000);
    const unsigned = unsignedToken({ iss: ISSUER, aud: "payment", sub: ANTAEUS, exp: now + 60 });
    await expectUnauthenticated(await postCharge(payment.url, aCharge, withToken(unsigned)));
  });

  it("401s a token signed by a key the issuer does not hold", async () => {
    const impostor = await signingKey(rsa.kid);
    await expectUnauthenticated(
      await postCharge(payment.url, aCharge, withToken(await token(impostor))),
    );
  });

  it.each([
    ["expired", { exp: Math.floor(Date.now() / 1000) - 60 }],
    ["for another audience", { aud: "https://kubernetes.default.svc" }],
    ["from another issuer", { iss: "https://issuer.example" }],
    // A token without exp never expires: a leaked one would work for ever.
    ["without exp", { exp: undefined }],
    ["without sub", { sub: undefined }],
  ])("401s a token %s", async (_, claims) => {
    await expectUnauthenticated(
      await postCharge(payment.url, aCharge, withToken(await token(rsa, claims))),
    );
  });

  it("403s a valid token of another service account", async () => {
    const other = await token(rsa, { sub: "system:serviceaccount:default:intruder" });
    await expectError(
      await postCharge(payment.url, aCharge, withToken(other)),
      403,
      "forbidden",
      "system:serviceaccount:default:intruder",
    );
  });

  it("charges for Antaeus's token, RSA or EC, and for every subject configured", async () => {
    for (const bearer of [
      await token(rsa),
      await token(ec),
      await token(rsa, { sub: RECONCILER }),
    ]) {
      const response = await postCharge(payment.url, aCharge, withToken(bearer));
      expect(response.status).toBe(200);
      expect(typeof ((await response.json()) as { result: boolean }).result).toBe("boolean");
    }
  });

  it("guards reading the ledger, /metrics, the OpenAPI document and unknown routes too; only the probes stay open", async () => {
    for (const path of ["/v1/charges?invoice_id=1", "/v2/anything", "/metrics", "/openapi.json"]) {
      await expectUnauthenticated(await fetch(`${payment.url}${path}`));
    }
    const read = await fetch(`${payment.url}/v1/charges?invoice_id=1`, withToken(await token(rsa)));
    expect(read.status).toBe(200);
    for (const open of ["/healthz", "/readyz"]) {
      expect((await fetch(`${payment.url}${open}`)).status).toBe(200);
    }
  });

  it("serves /metrics and the OpenAPI document without a token on METRICS_PORT, and nothing else there", async () => {
    const base = metricsUrlOf(payment.process);
    const metrics = await fetch(`${base}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain("http_request_duration_seconds");
    const document = await fetch(`${base}/openapi.json`);
    expect(await document.json()).toMatchObject({ info: { title: "Payment" } });
    expect((await fetch(`${base}/v1/charges?invoice_id=1`)).status).toBe(404);
  });

  it("logs who called, never the token", async () => {
    const bearer = await token(rsa, { sub: RECONCILER });
    const response = await postCharge(payment.url, aCharge, { ...withToken(bearer), key: "who" });
    expect(response.status).toBe(200);
    await expect
      .poll(() => payment.process.logs.find((l) => l.idempotencyKey === "who"))
      .toMatchObject({ subject: RECONCILER });
    const everything = JSON.stringify(payment.process.logs) + payment.process.text.join("\n");
    expect(everything).not.toContain(bearer.split(".")[2]);
    expect(everything).not.toContain("reader-token");
  });
});

describe("the issuer's keys", () => {
  it("are fetched once and cached, with the reader token from the file", async () => {
    const before = jwks.state.fetches;
    for (let i = 0; i < 5; i++) {
      const response = await postCharge(payment.url, aCharge, withToken(await token(rsa)));
      expect(response.status).toBe(200);
    }
    expect(jwks.state.fetches).toBe(before);
  });

  it("are fetched again when a token names a new key id, with the rotated reader token", async () => {
    const rotated = await signingKey("rsa-2");
    jwks.state.keys = [rotated.jwk];
    jwks.state.token = "reader-token-2";
    await writeFile(tokenFile, "reader-token-2\n");
    const before = jwks.state.fetches;
    const response = await postCharge(payment.url, aCharge, withToken(await token(rotated)));
    expect(response.status).toBe(200);
    expect(jwks.state.fetches).toBe(before + 1);
  });

  it("answer 503, not 401, while the key endpoint is down", async () => {
    jwks.state.broken = true;
    try {
      const unknownKid = await signingKey("rsa-3");
      const response = await postCharge(payment.url, aCharge, withToken(await token(unknownKid)));
      expect(response.headers.get("retry-after")).toBe("1");
      await expectError(response, 503, "unavailable", "verify");
    } finally {
      jwks.state.broken = false;
    }
  });
});

describe.skipIf(!hasOpenssl())("a key endpoint behind the cluster's own CA", () => {
  it("is trusted through PAYMENT_AUTH_JWKS_CA_FILE", async () => {
    const dir = await mkdtemp(join(tmpdir(), "payment-ca-"));
    execFileSync(
      "openssl",
      [
        ...["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"],
        ...["-keyout", join(dir, "key.pem"), "-out", join(dir, "ca.pem"), "-days", "1"],
        ...["-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
      ],
      { stdio: "ignore" },
    );
    const [key, cert] = await Promise.all([
      readFile(join(dir, "key.pem"), "utf8"),
      readFile(join(dir, "ca.pem"), "utf8"),
    ]);
    const https = await startJwksServer({ key, cert });
    https.state.keys = [rsa.jwk];
    https.state.token = "reader-token-ca";
    await writeFile(join(dir, "token"), "reader-token-ca");
    const behindCa = await startPayment({
      PAYMENT_AUTH: "jwks",
      PAYMENT_AUTH_ISSUER: ISSUER,
      PAYMENT_AUTH_SUBJECT: ANTAEUS,
      PAYMENT_AUTH_JWKS_URL: https.url,
      PAYMENT_AUTH_JWKS_TOKEN_FILE: join(dir, "token"),
      PAYMENT_AUTH_JWKS_CA_FILE: join(dir, "ca.pem"),
    });
    try {
      const response = await postCharge(behindCa.url, aCharge, withToken(await token(rsa)));
      expect(response.status).toBe(200);
      expect(https.state.fetches).toBe(1);
    } finally {
      await behindCa.stop();
      await https.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

function hasOpenssl(): boolean {
  try {
    execFileSync("openssl", ["version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}
