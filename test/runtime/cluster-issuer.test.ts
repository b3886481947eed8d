import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  DISCOVERY_PATH,
  issuerResolver,
  readDiscovery,
} from "../../functions/runtime/web/auth/cluster-issuer.js";
import { type ApiServerStandIn, startApiServer } from "../support/api-server.js";

// The issuer read from an API server that speaks kube-apiserver's wire format, over https with
// the cluster's CA and the pod's token, for a kubeadm-made cluster (kind) and a managed one (EKS).

describe.each(["kind", "eks"] as const)("on %s", (cluster) => {
  let api: ApiServerStandIn;
  beforeAll(async () => {
    api = await startApiServer(cluster);
  });
  afterAll(() => api?.close());

  const server = () => ({ url: api.url, tokenFile: api.tokenFile, caFile: api.caFile });

  it("reads the issuer with the pod's token, trusting the cluster CA", async () => {
    const discovery = await readDiscovery(server());
    expect(discovery.issuer).toBe(api.issuer);
    expect(api.requests.at(-1)).toEqual({
      path: DISCOVERY_PATH,
      authorization: `Bearer ${api.apiToken}`,
    });
  });

  it("refuses an API server whose certificate the cluster CA did not sign", async () => {
    const other = await startApiServer(cluster);
    try {
      await expect(readDiscovery({ ...server(), caFile: other.caFile })).rejects.toThrow();
    } finally {
      await other.close();
    }
  });

  it("says what the API server answered to a token it does not know", async () => {
    const dir = await mkdtemp(join(tmpdir(), "token-"));
    try {
      await writeFile(join(dir, "token"), "not-a-token");
      await expect(readDiscovery({ ...server(), tokenFile: join(dir, "token") })).rejects.toThrow(
        /HTTP 401 .*Unauthorized/,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("the issuer resolver", () => {
  it("reads once, then answers from memory", async () => {
    const api = await startApiServer("kind");
    try {
      const issuer = issuerResolver({
        kind: "discovered",
        apiServer: { url: api.url, tokenFile: api.tokenFile, caFile: api.caFile },
      });
      expect(await issuer.current()).toBe(api.issuer);
      expect(await issuer.current()).toBe(api.issuer);
      expect(api.requests).toHaveLength(1);
    } finally {
      await api.close();
    }
  });

  // Probes ask every second: a down API server gets one request per retry gap, not one per probe.
  it("after a failure, asks again only once the retry gap has passed", async () => {
    const api = await startApiServer("eks");
    const url = api.url;
    await api.close();
    const issuer = issuerResolver(
      { kind: "discovered", apiServer: { url, tokenFile: api.tokenFile, caFile: api.caFile } },
      200,
    );
    const first = await issuer.current().then(
      () => undefined,
      (error: Error) => error,
    );
    expect(first).toBeInstanceOf(Error);
    expect(first?.message).toContain(`${url}${DISCOVERY_PATH}`);
    expect(first?.cause).toBeDefined();
    // Within the gap the same failure comes back without a new attempt.
    await expect(issuer.current()).rejects.toBe(first);
    await new Promise((resolve) => setTimeout(resolve, 250));
    await expect(issuer.current()).rejects.not.toBe(first);
  });

  it("is a constant when the issuer is configured", async () => {
    const issuer = issuerResolver({ kind: "configured", issuer: "https://login.example.com" });
    expect(await issuer.current()).toBe("https://login.example.com");
    expect(await issuer.refresh()).toBe("https://login.example.com");
  });
});
