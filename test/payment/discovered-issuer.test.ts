import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadPaymentConfig, type PaymentConfig } from "../../functions/payment/config.js";
import { ConfigError } from "../../functions/runtime/index.js";
import { type ApiServerStandIn, startApiServer } from "../support/api-server.js";
import { ANTAEUS } from "../support/identity.js";
import { type InProcessApp, inProcessPayment } from "../support/in-process.js";
import { postCharge } from "./support.js";

// Payment as the manifests run it: PAYMENT_AUTH=jwks and no issuer named, so it reads the
// cluster's issuer from the API server of its pod (KUBERNETES_SERVICE_HOST/PORT) and the keys from
// that API server's /openid/v1/jwks, with its own token and the cluster CA. The in-cluster token
// and CA paths are the stand-in's files here. In-process: the app reads the issuer and the keys
// over real HTTPS, and answers /readyz and the charges itself.

const aCharge = { invoice_id: 1, customer_id: 1, currency: "EUR", value: 10 };
const bearer = (token: string) => ({ headers: { Authorization: `Bearer ${token}` } });

type Payment = InProcessApp<PaymentConfig>;

function inCluster(api: ApiServerStandIn, env: Record<string, string> = {}) {
  return inProcessPayment({
    PAYMENT_AUTH: "jwks",
    PAYMENT_AUTH_SUBJECT: ANTAEUS,
    KUBERNETES_SERVICE_HOST: api.host,
    KUBERNETES_SERVICE_PORT: String(api.port),
    PAYMENT_AUTH_JWKS_TOKEN_FILE: api.tokenFile,
    PAYMENT_AUTH_JWKS_CA_FILE: api.caFile,
    ...env,
  });
}

const send = (payment: Payment) => (path: string, init: RequestInit) =>
  payment.app.request(path, init);

const readyz = async (payment: Payment) => {
  const response = await payment.app.request("/readyz");
  return { status: response.status, body: await response.json() };
};

describe.each(["kind", "eks"] as const)("on %s, with the issuer discovered", (cluster) => {
  let api: ApiServerStandIn;
  let payment: Payment;
  beforeAll(async () => {
    api = await startApiServer(cluster);
    payment = await inCluster(api);
  });
  afterAll(async () => {
    await payment?.close();
    await api?.close();
  });

  it("is ready once it knows the issuer and holds its keys, read from the API server itself", async () => {
    expect(await readyz(payment)).toEqual({ status: 200, body: { status: "ready" } });
    expect(api.requests.map((r) => r.path).sort()).toEqual([
      "/.well-known/openid-configuration",
      "/openid/v1/jwks",
    ]);
    expect(api.requests.every((r) => r.authorization === `Bearer ${api.apiToken}`)).toBe(true);
  });

  it("charges for Antaeus's token from that issuer", async () => {
    const response = await postCharge(
      send(payment),
      aCharge,
      bearer(await api.token(ANTAEUS, "payment")),
    );
    expect(response.status).toBe(200);
  });
});

describe("when tokens cannot be verified", () => {
  it("is not ready while the issuer's keys cannot be fetched, and says which in /readyz and its log", async () => {
    const api = await startApiServer("kind");
    api.state.keysDown = true;
    const payment = await inCluster(api);
    try {
      expect(await readyz(payment)).toEqual({
        status: 503,
        body: {
          status: "unavailable",
          unavailable: ["tokens"],
          reasons: { tokens: "keys-unreachable" },
        },
      });
      // The log line is written asynchronously: it may land after the answer.
      const notReady = () =>
        payment.logs.find((l) => l.msg === "not ready" && l.dependency === "tokens");
      await expect.poll(notReady).toBeDefined();
      const line = notReady();
      expect(JSON.stringify(line?.err)).toContain(`keys-unreachable: ${api.url}/openid/v1/jwks`);
      api.state.keysDown = false;
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      expect((await readyz(payment)).status).toBe(200);
    } finally {
      await payment.close();
      await api.close();
    }
  });

  it("is not ready while the API server cannot be asked for the issuer", async () => {
    const api = await startApiServer("eks");
    const payment = await inCluster(api, { KUBERNETES_SERVICE_PORT: "1" });
    try {
      expect(await readyz(payment)).toEqual({
        status: 503,
        body: {
          status: "unavailable",
          unavailable: ["tokens"],
          reasons: { tokens: "issuer-unknown" },
        },
      });
      // A charge in the meantime is our failure, not the caller's: 503, never 401.
      const response = await postCharge(
        send(payment),
        aCharge,
        bearer(await api.token(ANTAEUS, "payment")),
      );
      expect(response.status).toBe(503);
    } finally {
      await payment.close();
      await api.close();
    }
  });

  // The issue this fixes: an issuer named by hand (kubeadm's) on a cluster whose issuer is
  // another (EKS's). Every charge is refused; payment stays routable (refusing is all it could
  // do), says "degraded" with the reason, and logs the two issuers once.
  it("stays ready but degraded, and logs both issuers once, when tokens signed by the cluster's keys name another issuer", async () => {
    const api = await startApiServer("eks");
    const payment = await inCluster(api, {
      PAYMENT_AUTH_ISSUER: "https://kubernetes.default.svc.cluster.local",
      PAYMENT_AUTH_JWKS_URL: `${api.url}/openid/v1/jwks`,
    });
    try {
      const token = await api.token(ANTAEUS, "payment");
      for (let i = 0; i < 3; i++) {
        expect((await postCharge(send(payment), aCharge, bearer(token))).status).toBe(401);
      }
      expect(await readyz(payment)).toEqual({
        status: 200,
        body: { status: "ready", degraded: ["tokens"], reasons: { tokens: "issuer-mismatch" } },
      });
      const mismatchLogs = () =>
        payment.logs.filter((l) => String(l.msg).startsWith("issuer mismatch"));
      await expect.poll(() => mismatchLogs().length).toBe(1);
      const mismatches = mismatchLogs();
      expect(mismatches).toHaveLength(1);
      expect(mismatches[0]).toMatchObject({
        level: "error",
        expected: "https://kubernetes.default.svc.cluster.local",
        seen: api.issuer,
      });
    } finally {
      await payment.close();
      await api.close();
    }
  });

  // Read by the loader the process reads its environment with; a ConfigError stops the start
  // with exit 1 and the message (payment/lifecycle › "configuration errors stop the start").
  it("refuses to start with half an issuer, or none outside a cluster", () => {
    const halfOrNone: Array<Record<string, string>> = [
      { PAYMENT_AUTH_ISSUER: "https://kubernetes.default.svc.cluster.local" },
      {},
    ];
    for (const env of halfOrNone) {
      const load = () =>
        loadPaymentConfig({ PAYMENT_AUTH: "jwks", PAYMENT_AUTH_SUBJECT: ANTAEUS, ...env });
      expect(load).toThrow(ConfigError);
      expect(load).toThrow(/PAYMENT_AUTH_(ISSUER|JWKS_URL)/);
    }
  });
});
