import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AntaeusConfig } from "../../functions/antaeus/config.js";
import { type ApiServerStandIn, startApiServer } from "../support/api-server.js";
import { type InProcessApp, inProcessAntaeus } from "../support/in-process.js";

// Antaeus with the shipped auth file's cluster entry, which names no issuer: it reads the issuer
// from the pod's API server (KUBERNETES_SERVICE_HOST/PORT) as payment does. Unlike payment,
// tokens it cannot verify leave it ready (degraded): its probes, the challenge profile's open
// routes and billing need no caller's token. In-process: the issuer is read and tokens are
// verified by the app, over real HTTPS to the stand-in API server.

const OPERATOR = "system:serviceaccount:antaeus:antaeus-operator";

async function startAntaeus(
  api: ApiServerStandIn,
  dir: string,
): Promise<InProcessApp<AntaeusConfig>> {
  await writeFile(
    join(dir, "auth.json"),
    JSON.stringify({
      issuers: [{ audiences: ["antaeus"], jwksTokenFile: api.tokenFile, jwksCaFile: api.caFile }],
      roles: { operator: { subjects: [OPERATOR] } },
    }),
  );
  await writeFile(
    join(dir, "self-token"),
    await api.token("system:serviceaccount:antaeus:antaeus", "antaeus"),
  );
  return inProcessAntaeus({
    SEED_ENABLED: "false",
    ANTAEUS_AUTH: "on",
    ANTAEUS_AUTH_CONFIG_FILE: join(dir, "auth.json"),
    ANTAEUS_AUTH_OPEN_ROUTES: "original",
    BILLING_SELF_TOKEN_FILE: join(dir, "self-token"),
    KUBERNETES_SERVICE_HOST: api.host,
    KUBERNETES_SERVICE_PORT: String(api.port),
  });
}

describe.each(["kind", "eks"] as const)("on %s", (cluster) => {
  let api: ApiServerStandIn;
  let antaeus: InProcessApp<AntaeusConfig>;
  let dir: string;
  beforeAll(async () => {
    api = await startApiServer(cluster);
    dir = await mkdtemp(join(tmpdir(), "antaeus-discovery-"));
    antaeus = await startAntaeus(api, dir);
  });
  afterAll(async () => {
    await antaeus?.close();
    await api?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("accepts the operator's token from the cluster's issuer, read from the API server", async () => {
    const token = await api.token(OPERATOR, "antaeus");
    const runs = await antaeus.app.request("/rest/v1/billing/runs", {
      headers: { Authorization: `Bearer ${token}` },
    });
    expect(runs.status).toBe(200);
    expect(api.requests.map((r) => r.path)).toContain("/.well-known/openid-configuration");
  });

  it("stays ready while the keys are out of reach, and says so as degraded", async () => {
    // Keys already fetched stay in hand; a fresh instance shows the unreachable case.
    api.state.keysDown = true;
    const other = await startAntaeus(api, dir);
    try {
      const response = await other.app.request("/readyz");
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({
        status: "ready",
        degraded: ["tokens"],
        reasons: { tokens: "keys-unreachable" },
      });
      // The challenge profile's open routes answer meanwhile.
      expect((await other.app.request("/rest/health")).status).toBe(200);
    } finally {
      api.state.keysDown = false;
      await other.close();
    }
  });
});
