import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { inClusterApiServer, parseDiscovery } from "./cluster-issuer.js";

// The discovery documents as real API servers send them (test/knative/SOURCES.md says whence).
const recorded = (cluster: string) =>
  readFileSync(
    new URL(
      `../../../../test/knative/fixtures/clusters/${cluster}/openid-configuration.json`,
      import.meta.url,
    ),
    "utf8",
  );

describe("the discovery document", () => {
  it("gives kind's issuer, kubeadm's default", () => {
    expect(parseDiscovery(recorded("kind"))).toEqual({
      issuer: "https://kubernetes.default.svc.cluster.local",
      advertisedJwksUri: "https://172.18.0.5:6443/openid/v1/jwks",
    });
  });

  // The advertised key URL names a node-internal host: kept for the log, never fetched.
  it("gives EKS's issuer, a URL outside the cluster", () => {
    expect(parseDiscovery(recorded("eks"))).toEqual({
      issuer: "https://oidc.eks.region.amazonaws.com/id/123abc",
      advertisedJwksUri: "https://ip-1-2-3-4.eu-central-1.compute.internal:443/openid/v1/jwks",
    });
  });

  it.each([
    ['{"jwks_uri":"https://x/keys"}', "no issuer"],
    ['{"issuer":"http://kubernetes.default.svc"}', "plain http"],
    ['{"issuer":42}', "not a string"],
  ])("refuses %s (%s)", (text) => {
    expect(() => parseDiscovery(text)).toThrow(/no https issuer/);
  });
});

describe("the pod's API server", () => {
  it("is KUBERNETES_SERVICE_HOST and _PORT, over https, with the mounted token and CA", () => {
    expect(
      inClusterApiServer({ KUBERNETES_SERVICE_HOST: "10.96.0.1", KUBERNETES_SERVICE_PORT: "443" }),
    ).toEqual({
      url: "https://10.96.0.1:443",
      tokenFile: "/var/run/secrets/kubernetes.io/serviceaccount/token",
      caFile: "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt",
    });
  });

  it("brackets an IPv6 service address", () => {
    const server = inClusterApiServer({
      KUBERNETES_SERVICE_HOST: "fd00:10:96::1",
      KUBERNETES_SERVICE_PORT: "443",
    });
    expect(server?.url).toBe("https://[fd00:10:96::1]:443");
  });

  it("is none outside a cluster", () => {
    expect(inClusterApiServer({})).toBeUndefined();
    expect(inClusterApiServer({ KUBERNETES_SERVICE_HOST: "10.96.0.1" })).toBeUndefined();
  });
});
