import type { JWTPayload } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signingKey, startJwksServer, token } from "../../../test/support/identity.js";
import { memoryLogger } from "../../../test/support/memory-logger.js";
import { CallerRefused } from "../../runtime/index.js";
import { callerVerifier } from "./guard.js";
import { authFileSchema } from "./settings.js";

const CLUSTER = "https://kubernetes.default.svc.cluster.local";
const PROVIDER = "https://login.example.com";
const SELF = "system:serviceaccount:antaeus:antaeus";
const OPERATOR = "system:serviceaccount:antaeus:antaeus-operator";
const HOUR = 3600;

let cluster: Awaited<ReturnType<typeof startJwksServer>>;
let provider: Awaited<ReturnType<typeof startJwksServer>>;
let clusterToken: (claims: JWTPayload) => Promise<string>;
let providerToken: (claims: JWTPayload) => Promise<string>;

beforeAll(async () => {
  const [clusterKey, providerKey] = await Promise.all([signingKey("k8s"), signingKey("idp")]);
  [cluster, provider] = await Promise.all([startJwksServer(), startJwksServer()]);
  cluster.state.keys = [clusterKey.jwk];
  provider.state.keys = [providerKey.jwk];
  clusterToken = (claims) => token(clusterKey, { iss: CLUSTER, aud: "antaeus", ...claims });
  providerToken = (claims) => token(providerKey, { iss: PROVIDER, aud: "antaeus", ...claims });
});
afterAll(async () => {
  await Promise.all([cluster?.close(), provider?.close()]);
});

/** The verifier for the cluster's issuer under `clusterPrefix` and a provider under `providerPrefix`. */
function verifier(clusterPrefix: string, providerPrefix: string, limits: object = {}) {
  const file = authFileSchema.parse({
    issuers: [
      {
        issuer: CLUSTER,
        audiences: ["antaeus"],
        jwksUrl: cluster.url,
        prefix: clusterPrefix,
        ...limits,
      },
      { issuer: PROVIDER, audiences: ["antaeus"], jwksUrl: provider.url, prefix: providerPrefix },
    ],
    roles: {
      operator: { subjects: [`${clusterPrefix}${OPERATOR}`] },
      self: { subjects: [`${clusterPrefix}${SELF}`] },
    },
  });
  // Both issuers named, as readAuthFile resolves an entry that names its issuer and keys.
  const issuers = file.issuers.map(({ issuer, jwksUrl, ...rest }) => ({
    ...rest,
    name: { kind: "configured" as const, issuer: issuer as string },
    jwksUrl: jwksUrl as string,
  }));
  return callerVerifier({ ...file, issuers }, memoryLogger().logger).verify;
}

describe("a name in the roles belongs to one issuer", () => {
  it("a provider whose prefix is empty cannot pose as the cluster's account under k8s:", async () => {
    const verify = verifier("k8s:", "");
    // The provider's user calls itself what the grant names: the grant is the cluster's.
    const posing = await verify(await providerToken({ sub: `k8s:${SELF}` }));
    expect(posing).toMatchObject({ subject: `k8s:${SELF}`, roles: [] });
    expect(await verify(await clusterToken({ sub: SELF }))).toMatchObject({
      subject: `k8s:${SELF}`,
      roles: ["self"],
    });
  });

  it("and the other way round: the cluster's accounts under an empty prefix beside a provider's", async () => {
    const verify = verifier("", "oidc:");
    expect((await verify(await clusterToken({ sub: OPERATOR }))).roles).toEqual(["operator"]);
    expect((await verify(await providerToken({ sub: OPERATOR }))).roles).toEqual([]);
  });
});

describe("a person's token lives 8 hours at most, a workload's as configured", () => {
  const now = () => Math.floor(Date.now() / 1000);
  const lasting = (seconds: number, sub = OPERATOR) => ({ sub, iat: now(), exp: now() + seconds });

  it("refuses a person's token made with kubectl create token --duration=8760h (401, saying why)", async () => {
    const refusal = await verifier(
      "",
      "oidc:",
    )(await clusterToken(lasting(8760 * HOUR))).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(CallerRefused);
    expect(refusal).toMatchObject({ status: 401 });
    expect((refusal as Error).message).toMatch(/at most 8 h, and this one lives 8760 h/);
  });

  it("refuses a person's token that does not say when it was issued", async () => {
    const token = await clusterToken({ sub: OPERATOR, iat: undefined, exp: now() + HOUR });
    await expect(verifier("", "oidc:")(token)).rejects.toThrow(/does not say when it was issued/);
  });

  it("takes a person's token of 8 h, and a workload's of a year (API servers extend projected tokens)", async () => {
    const verify = verifier("", "oidc:");
    expect((await verify(await clusterToken(lasting(8 * HOUR)))).roles).toEqual(["operator"]);
    expect((await verify(await clusterToken(lasting(8760 * HOUR, SELF)))).roles).toEqual(["self"]);
  });

  it("keeps to the limits an issuer configures", async () => {
    const verify = verifier("", "oidc:", {
      personTokenMaxSeconds: HOUR,
      workloadTokenMaxSeconds: 2 * HOUR,
    });
    await expect(verify(await clusterToken(lasting(2 * HOUR)))).rejects.toThrow(/at most 1 h/);
    await expect(verify(await clusterToken(lasting(3 * HOUR, SELF)))).rejects.toThrow(
      /a workload's token may live at most 2 h/,
    );
    expect((await verify(await clusterToken(lasting(2 * HOUR, SELF)))).roles).toEqual(["self"]);
  });
});
