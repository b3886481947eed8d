import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROUTE_ACCESS } from "../../functions/antaeus/auth/access.js";
import { TOKEN_COMMAND } from "../../functions/antaeus/auth/guard.js";
import { roleReader } from "../../functions/antaeus/auth/roles.js";
import { authFileSchema, readAuthFile } from "../../functions/antaeus/auth/settings.js";
import { loadAntaeusConfig } from "../../functions/antaeus/config.js";
import { loadPaymentConfig } from "../../functions/payment/config.js";
import { mountedAuthConfig, withMountedAuthConfig } from "./auth-manifests.js";
import {
  containersOf,
  find,
  KNATIVE_DIR,
  KUBELET_ENV,
  kubectlVersion,
  loadManifests,
  type Manifest,
  parseYaml,
  resolvedEnv,
} from "./manifests.js";

// Who may call Antaeus, as the manifests set it up, checked against the code that enforces it.

const { docs } = loadManifests();
const kubectl = kubectlVersion();
const antaeus = find(docs, "Service", "antaeus", "antaeus");
const payment = find(docs, "Service", "payment", "payment");
const envOf = (service: Manifest, all = docs): Record<string, string> => ({
  NODE_ENV: "production",
  ...KUBELET_ENV,
  ...resolvedEnv(all, service),
});
const authFile = authFileSchema.parse(JSON.parse(mountedAuthConfig(docs, envOf(antaeus))));
/** The cluster's issuer as Antaeus resolves it in a pod (the kubelet's env). */
const clusterIssuer = (
  await withMountedAuthConfig(docs, envOf(antaeus)).then((env) =>
    readAuthFile(env.ANTAEUS_AUTH_CONFIG_FILE as string, env),
  )
).issuers.find((i) => i.prefix === "")!;
/** The roles a cluster account holds by the shipped config. */
const clusterRoles = (subject: string) =>
  roleReader(
    authFile.roles,
    authFile.issuers.map((issuer) => issuer.prefix),
  )({ issuer: authFile.issuers.findIndex((i) => i.prefix === ""), subject, groups: [] });
const sa = (name: string) => `system:serviceaccount:antaeus:${name}`;

describe("both profiles", () => {
  it("turn auth on in both of Antaeus's ksvcs themselves, not through the image's NODE_ENV", async () => {
    for (const ksvc of [antaeus, find(docs, "Service", "antaeus-billing", "antaeus")]) {
      const env: Record<string, string> = { ...KUBELET_ENV, ...resolvedEnv(docs, ksvc) };
      expect(env.ANTAEUS_AUTH, ksvc.metadata.name).toBe("on");
      // The ksvc's env alone, as on an image built without NODE_ENV=production.
      const config = loadAntaeusConfig(await withMountedAuthConfig(docs, env));
      expect(config.auth.mode).toBe("on");
    }
  });
});

describe("the challenge profile (knative/)", () => {
  it("opens the original's routes, loads the mounted auth config, and says so", async () => {
    const config = loadAntaeusConfig(await withMountedAuthConfig(docs, envOf(antaeus)));
    expect(config.auth).toMatchObject({ mode: "on", openRoutes: "original" });
  });
});

describe.skipIf(!kubectl)("the production profile (knative/production/)", () => {
  const production = kubectl
    ? parseYaml(
        execFileSync("kubectl", ["kustomize", join(KNATIVE_DIR, "production")], {
          encoding: "utf8",
        }),
        "knative/production",
      )
    : [];
  /** The render with the database Secrets the cluster provides, shaped as knative/ ships them. */
  const provided = [...production, ...docs.filter((d) => d.kind === "Secret")];

  it("is knative/ with three differences: no route but the probes is open, the API server only at private addresses, and no database Secret", () => {
    const key = (d: Manifest) => `${d.kind}/${d.metadata.namespace ?? ""}/${d.metadata.name}`;
    const secrets = ["Secret/antaeus/database", "Secret/payment/database"];
    expect(production.map(key).sort()).toEqual(
      docs
        .map(key)
        .filter((k) => !secrets.includes(k))
        .sort(),
    );
    const differing = production.filter(
      (d) => JSON.stringify(d) !== JSON.stringify(docs.find((o) => key(o) === key(d))),
    );
    expect(differing.map(key).sort()).toEqual([
      "NetworkPolicy/antaeus/function-egress-api-server",
      "NetworkPolicy/payment/function-egress-api-server",
      "Service/antaeus/antaeus",
    ]);
    const ksvc = find(production, "Service", "antaeus", "antaeus");
    expect(envOf(ksvc, provided).ANTAEUS_AUTH_OPEN_ROUTES).toBe("none");
    expect(envOf(antaeus).ANTAEUS_AUTH_OPEN_ROUTES).toBe("original");
  });

  it("renders no Secret and no placeholder password: the cluster provides the database's", () => {
    expect(production.filter((d) => d.kind === "Secret")).toEqual([]);
    expect(JSON.stringify(production)).not.toMatch(/change-me/i);
    // What still names the Secret (both functions' DATABASE_URL, PostgreSQL's user and
    // password) names the one deploy.md says to provide, with the keys it lists.
    const keys = production.flatMap((d) =>
      containersOf(d).flatMap((c: Manifest) =>
        (c.env ?? []).flatMap((e: Manifest) =>
          e.valueFrom?.secretKeyRef
            ? [`${e.valueFrom.secretKeyRef.name}:${e.valueFrom.secretKeyRef.key}`]
            : [],
        ),
      ),
    );
    expect(new Set(keys)).toEqual(
      new Set(["database:url", "database:username", "database:password", "database:database"]),
    );
  });

  it("names the same images as knative/kustomization.yaml", () => {
    const images = (dir: string) =>
      parseYaml(readFileSync(join(dir, "kustomization.yaml"), "utf8"), dir)[0]?.images;
    expect(images(join(KNATIVE_DIR, "production"))).toEqual(images(KNATIVE_DIR));
  });

  it("is accepted by Antaeus's config loader as production with nothing open", async () => {
    const ksvc = find(production, "Service", "antaeus", "antaeus");
    const config = loadAntaeusConfig(
      await withMountedAuthConfig(production, envOf(ksvc, provided)),
    );
    expect(config.auth).toMatchObject({ mode: "on", openRoutes: "none" });
  });
});

describe("identities", () => {
  // Neither names an issuer: both read the same one from the pod's API server (KUBELET_ENV).
  it("trusts the cluster issuer payment trusts, read from the same API server with the same API token and CA", () => {
    const paymentConfig = loadPaymentConfig(envOf(payment));
    if (paymentConfig.auth.mode !== "jwks") throw new Error("payment auth is off");
    expect(paymentConfig.auth.issuer.kind).toBe("discovered");
    expect(clusterIssuer).toMatchObject({
      name: paymentConfig.auth.issuer,
      jwksUrl: paymentConfig.auth.jwksUrl,
      jwksTokenFile: paymentConfig.auth.jwksTokenFile,
      jwksCaFile: paymentConfig.auth.jwksCaFile,
    });
    // The token file exists in the pod only if its account's API token is mounted.
    const account = find(
      docs,
      "ServiceAccount",
      antaeus.spec.template.spec.serviceAccountName,
      "antaeus",
    );
    expect(account.automountServiceAccountToken).not.toBe(false);
    expect(antaeus.spec.template.spec.automountServiceAccountToken).not.toBe(false);
  });

  it("Antaeus's own projected token is at BILLING_SELF_TOKEN_FILE, for an accepted audience, and holds the role self", () => {
    const spec = antaeus.spec.template.spec;
    const file = envOf(antaeus).BILLING_SELF_TOKEN_FILE!;
    const mount = spec.containers[0].volumeMounts.find((m: Manifest) =>
      file.startsWith(`${m.mountPath}/`),
    );
    const source = spec.volumes
      .find((v: Manifest) => v.name === mount.name)
      .projected.sources.find(
        (s: Manifest) => `${mount.mountPath}/${s.serviceAccountToken?.path}` === file,
      )?.serviceAccountToken as Manifest;
    expect(clusterIssuer.audiences).toContain(source.audience);
    expect(clusterRoles(sa(spec.serviceAccountName))).toEqual(["self"]);
    const lane = ROUTE_ACCESS.find((r) => r.path.endsWith("/lanes/:lane"))!;
    expect(lane.roles).toEqual(["self"]);
  });

  it("ships a reader and an operator account, the README's token command names one, for an accepted audience", () => {
    expect(
      find(docs, "ServiceAccount", "antaeus-reader", "antaeus").automountServiceAccountToken,
    ).toBe(false);
    expect(
      find(docs, "ServiceAccount", "antaeus-operator", "antaeus").automountServiceAccountToken,
    ).toBe(false);
    expect(clusterRoles(sa("antaeus-reader"))).toEqual(["reader"]);
    expect(clusterRoles(sa("antaeus-operator"))).toEqual(["operator"]);
    const [, account, namespace, audience] =
      /create token (\S+) -n (\S+) --audience (\S+)/.exec(TOKEN_COMMAND) ?? [];
    expect(find(docs, "ServiceAccount", account!, namespace!)).toBeDefined();
    expect(clusterIssuer.audiences).toContain(audience);
  });

  // Derived as Knative Eventing derives it, with authentication-oidc on: the PingSource's own
  // service account, GetOIDCServiceAccountNameForResource in knative/eventing
  // pkg/auth/serviceaccount.go @9f632ef8847a98f6933794d042b487151454a7f1 (kmeta.ChildName of
  // the name and "-oidc-<group>-<kind>", lowercased; names of 63 characters or fewer are kept
  // whole); the token's audience is spec.sink.audience (a ksvc publishes none), and it goes
  // only where the sink points (pkg/adapter/v2/cloudevents.go @6c2e9a37a4367fedda3eade80b1df5dd19a4ec93:
  // the Authorization header is set only when an audience and an OIDC account are known).
  it.each(docs.filter((d) => d.kind === "PingSource").map((d) => [d.metadata.name, d] as const))(
    "PingSource %s: its Eventing token is for an accepted audience and its account may call its sink",
    (name, source) => {
      const account = `${name}-oidc-sources.knative.dev-pingsource`.toLowerCase();
      expect(account.length).toBeLessThanOrEqual(63);
      expect(source.spec.sink.audience).toBeDefined();
      expect(clusterIssuer.audiences).toContain(source.spec.sink.audience);
      const roles = clusterRoles(`system:serviceaccount:${source.metadata.namespace}:${account}`);
      const route = ROUTE_ACCESS.find(
        (r) => r.method === "POST" && r.path === source.spec.sink.uri,
      );
      expect(route, `a route for ${source.spec.sink.uri}`).toBeDefined();
      expect(roles.some((role) => route!.roles.includes(role))).toBe(true);
    },
  );
});

describe("/metrics", () => {
  it("without a token only on METRICS_PORT, which only the monitoring namespace may reach", () => {
    const port = Number(envOf(antaeus).METRICS_PORT);
    expect(port).toBeGreaterThan(0);
    const admitting = docs
      .filter((d) => d.kind === "NetworkPolicy" && d.metadata.namespace === "antaeus")
      .flatMap((p) => (p.spec.ingress ?? []) as Manifest[])
      .filter((rule) => (rule.ports ?? []).some((p: Manifest) => p.port === port));
    expect(admitting.flatMap((rule) => rule.from)).toEqual([
      { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "monitoring" } } },
    ]);
    expect(ROUTE_ACCESS.find((r) => r.path === "/metrics")?.original).toBeUndefined();
  });
});
