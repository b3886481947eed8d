import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { rootCertificates } from "node:tls";
import { afterAll, describe, expect, it } from "vitest";
import { worstCaseChargeMs } from "../../functions/antaeus/billing/settings.js";
import { loadAntaeusConfig } from "../../functions/antaeus/config.js";
import { loadPaymentConfig } from "../../functions/payment/config.js";
import { ConfigError } from "../../functions/runtime/index.js";
import { buildFunction } from "../../scripts/build.mjs";
import { pingDelivery } from "../support/cloudevents.js";
import { inProcessAntaeus, inProcessPayment } from "../support/in-process.js";
import { withMountedAuthConfig } from "./auth-manifests.js";
import {
  filesUnder,
  find,
  KNATIVE_DIR,
  KUBELET_ENV,
  loadManifests,
  type Manifest,
  parseYaml,
  ROOT,
  resolvedEnv,
} from "./manifests.js";

// The manifests and the code must describe the same system. Each check here reads the value
// from the code (route tables, config loaders, Dockerfiles, the bundler), not from a copy.

const { docs } = loadManifests();
const ksvc = (name: string) => find(docs, "Service", name);
const antaeus = ksvc("antaeus");
const lanes = ksvc("antaeus-billing");
const payment = ksvc("payment");
const containerOf = (service: Manifest) => service.spec.template.spec.containers[0] as Manifest;
/**
 * A ksvc's cluster-local address: knative/pkg network/domain.go GetServiceHostname,
 * NAME.NAMESPACE.svc.<cluster domain>, cluster.local by default. A PingSource sink ref resolves
 * to it too.
 */
const clusterLocalUrl = (service: Manifest) =>
  `http://${service.metadata.name}.${service.metadata.namespace}.svc.cluster.local`;

const dockerfile = (name: string) => readFile(join(ROOT, `Dockerfile.${name}`), "utf8");
/** The runtime stage of a Dockerfile: everything after its last FROM. */
const runtimeStage = async (name: string) => {
  const text = await dockerfile(name);
  return text.slice(text.lastIndexOf("\nFROM "));
};
/** The env a Dockerfile stage sets: each ENV line's `KEY=value` pairs (unquoted here). */
const envOfStage = (stage: string): Record<string, string> =>
  Object.fromEntries(
    [...stage.matchAll(/^ENV\s+(.+)$/gm)].flatMap((line) =>
      [...(line[1] ?? "").matchAll(/([A-Z_][A-Z0-9_]*)=(\S+)/g)].map((m) => [m[1], m[2]]),
    ),
  );
/** The env the image sets (ENV lines of the runtime stage) and the kubelet's, under the manifest's. */
async function environmentOf(name: string, service: Manifest): Promise<Record<string, string>> {
  return {
    ...envOfStage(await runtimeStage(name)),
    ...KUBELET_ENV,
    ...resolvedEnv(docs, service),
  };
}

// ANTAEUS_AUTH_CONFIG_FILE is read from the mounted ConfigMap's own text (auth-manifests.ts).
const antaeusEnv = await withMountedAuthConfig(docs, await environmentOf("antaeus", antaeus));
// The billing lanes run the antaeus image.
const lanesEnv = await withMountedAuthConfig(docs, await environmentOf("antaeus", lanes));
const paymentEnv = await environmentOf("payment", payment);

/** Variable names a loader complains about: ConfigError lists each as "  NAME: problem". */
function missingFor(load: (env: Record<string, string>) => unknown, env: Record<string, string>) {
  try {
    load(env);
    return [];
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    return [...error.message.matchAll(/^\s+([A-Z_]+):/gm)].map((m) => m[1] as string);
  }
}

describe("images", () => {
  const outRoot = mkdtemp(join(tmpdir(), "knative-build-"));
  afterAll(async () => rm(await outRoot, { recursive: true, force: true }));

  it.each(["antaeus", "payment"])(
    "%s: the ksvc runs the image its Dockerfile builds",
    async (name) => {
      const stage = await runtimeStage(name);
      // The Dockerfile names its output; the manifest uses that name, kustomize adds the registry.
      expect(stage).toContain(`org.opencontainers.image.title="${name}"`);
      const raw = parseYaml(
        await readFile(join(KNATIVE_DIR, name, "service.yaml"), "utf8"),
        "service.yaml",
      );
      expect(containerOf(raw[0] as Manifest).image).toBe(name);
      const kustomization = parseYaml(
        await readFile(join(KNATIVE_DIR, "kustomization.yaml"), "utf8"),
        "kustomization.yaml",
      )[0] as Manifest;
      const entry = kustomization.images.find((i: Manifest) => i.name === name);
      expect(entry.newName.split("/").at(-1)).toBe(name);
      expect(containerOf(ksvc(name)).image).toBe(`${entry.newName}:${entry.newTag}`);
    },
  );

  it("antaeus-billing: the billing lanes run Antaeus's image", () => {
    expect(containerOf(lanes).image).toBe(containerOf(antaeus).image);
  });

  it.each(["antaeus", "payment"] as const)(
    "%s: the image starts from a snapshot its runtime Node builds from a script the bundler writes, with the migrations beside it",
    async (name) => {
      const stage = await runtimeStage(name);
      const base = /^FROM (gcr\.io\/distroless\/nodejs24-debian1\d:nonroot)$/m.exec(stage)?.[1];
      expect(base).toBeDefined();
      expect(stage).toContain(`COPY --from=snapshot --chown=0:0 /app/ /app/`);
      expect(stage).toContain(`CMD ["--snapshot-blob", "/app/${name}.blob"]`);
      expect(envOfStage(stage).NODE_ENV).toBe("production");
      expect(stage).toMatch(/^USER [1-9]\d*:[1-9]\d*$/m);
      // The blob is built by the runtime image's own Node, from the bundle at the path it ships.
      const text = await dockerfile(name);
      const snapshotStage = text.slice(
        text.indexOf(`\nFROM ${base} AS snapshot`),
        text.lastIndexOf("\nFROM "),
      );
      expect(snapshotStage).toContain(`COPY --from=build /src/dist/${name}/ /app/`);
      expect(snapshotStage).toContain(
        `RUN ["/nodejs/bin/node", "/tmp/snapshot.mjs", "/app/${name}.snapshot.cjs", "/app/${name}.blob"]`,
      );

      const out = await outRoot;
      await buildFunction(name, { outRoot: out });
      const dir = join(out, name);
      await expect(readFile(join(dir, `${name}.snapshot.cjs`), "utf8")).resolves.toContain(
        "__filename",
      );
      // The same function from its ES bundle, for `args: ["/app/<fn>.mjs"]`.
      await expect(readFile(join(dir, `${name}.mjs`), "utf8")).resolves.toContain(
        "import.meta.url",
      );
      await expect(readFile(join(dir, "migrate.mjs"), "utf8")).resolves.toBeTruthy();
      const journal = JSON.parse(
        await readFile(join(dir, "migrations", "meta", "_journal.json"), "utf8"),
      ) as { entries: unknown[] };
      expect(journal.entries.length).toBeGreaterThan(0);
    },
  );
});

/** What this PingSource manifest would deliver: its content type and data, as a CloudEvent. */
const deliveryOf = (source: Manifest, id: string, time: string) =>
  pingDelivery({
    source: `${source.metadata.namespace}/${source.metadata.name}`,
    id,
    time,
    data: source.spec.data,
    headers: { "content-type": source.spec.contentType },
  });

describe("routes the manifests point at are routes the apps serve", () => {
  const served = (status: number) => status !== 404 && status !== 405;

  it("antaeus: its probes, the PingSource's uri (with the event it sends), and continuations", async () => {
    const { app, sql, close } = await inProcessAntaeus({ SEED_ENABLED: "false" });
    try {
      const container = containerOf(antaeus);
      for (const probe of ["startupProbe", "readinessProbe", "livenessProbe"]) {
        const response = await app.request(container[probe].httpGet.path);
        expect(served(response.status), `${probe} ${container[probe].httpGet.path}`).toBe(true);
      }
      expect((await app.request(container.livenessProbe.httpGet.path)).status).toBe(200);

      // What the PingSource sends, in binary mode: it must be taken as a scheduled trigger.
      const source = find(docs, "PingSource", "monthly-billing", "antaeus");
      expect(source.spec.sink.ref.name).toBe(antaeus.metadata.name);
      const response = await app.request(
        source.spec.sink.uri,
        deliveryOf(source, "0a1b2c3d-manifest-check", "2026-12-01T00:00:00+01:00"),
      );
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({ trigger: "schedule", status: "COMPLETED" });
      const [trigger] = await sql`select event_id from billing_triggers`;
      expect(trigger?.event_id).toBe("0a1b2c3d-manifest-check");

      // The watchdog's event, to its uri: with no run in progress it starts nothing.
      const watchdog = find(docs, "PingSource", "billing-watchdog", "antaeus");
      const resumed = await app.request(
        watchdog.spec.sink.uri,
        deliveryOf(watchdog, "watchdog-manifest-check", "2026-12-01T01:00:00+01:00"),
      );
      expect(resumed.status).toBe(200);
      expect(await resumed.json()).toEqual({ run: null });

      // Lanes go to BILLING_LANE_URL + the lane route.
      const lane = new URL(
        "/rest/v1/billing/runs/1/lanes/1?holder=00000000-0000-4000-8000-000000000000",
        antaeusEnv.BILLING_LANE_URL,
      );
      const worked = await app.request(lane.pathname + lane.search, { method: "POST" });
      expect(worked.status).toBe(200);

      // The billing lanes' probes: the same app.
      for (const probe of ["startupProbe", "readinessProbe", "livenessProbe"]) {
        const path = containerOf(lanes)[probe].httpGet.path;
        expect(served((await app.request(path)).status), `antaeus-billing ${probe}`).toBe(true);
      }
    } finally {
      await close();
    }
  });

  it("payment: its probes, and the charge route Antaeus calls, which wants a token", async () => {
    // The CA file exists only in a pod; any real certificate stands in for it here.
    const caDir = await mkdtemp(join(tmpdir(), "knative-ca-"));
    const ca = join(caDir, "ca.crt");
    await writeFile(ca, rootCertificates[0] as string);
    const { app, close } = await inProcessPayment({
      ...paymentEnv,
      PAYMENT_AUTH_JWKS_CA_FILE: ca,
    });
    try {
      const container = containerOf(payment);
      for (const probe of ["startupProbe", "readinessProbe", "livenessProbe"]) {
        const response = await app.request(container[probe].httpGet.path);
        expect(served(response.status), `${probe} ${container[probe].httpGet.path}`).toBe(true);
      }
      const charge = new URL(antaeusEnv.PAYMENT_PROVIDER_ENDPOINT as string);
      const response = await app.request(charge.pathname, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ customer_id: 1, currency: "DKK", value: 1 }),
      });
      // 401, not 404/405: the route exists, and the production configuration guards it.
      expect(response.status).toBe(401);
    } finally {
      await close();
      await rm(caDir, { recursive: true, force: true });
    }
  });
});

describe("wiring", () => {
  it("PAYMENT_PROVIDER_ENDPOINT is payment's cluster-local URL plus its charge route", () => {
    expect(payment.metadata.labels["networking.knative.dev/visibility"]).toBe("cluster-local");
    expect(antaeusEnv.PAYMENT_PROVIDER_ENDPOINT).toBe(`${clusterLocalUrl(payment)}/v1/charges`);
  });

  it("BILLING_LANE_URL is the billing lanes' cluster-local URL, through Knative, in both ksvcs", () => {
    expect(lanes.metadata.labels["networking.knative.dev/visibility"]).toBe("cluster-local");
    expect(antaeusEnv.BILLING_LANE_URL).toBe(clusterLocalUrl(lanes));
    expect(lanesEnv.BILLING_LANE_URL).toBe(clusterLocalUrl(lanes));
  });

  // The API sizes a run's lanes and the lanes size their hand-over with the same rule
  // (billing/lanes.ts): both must read the same settings, and Knative must give each lane a pod.
  it("the API and the billing lanes agree on the lanes: one per pod, max-scale of them", () => {
    for (const name of [
      "BILLING_CONCURRENCY",
      "BILLING_LANES",
      "BILLING_PROVIDER_RATE_LIMIT",
      "BILLING_LEASE_MS",
      "BILLING_REQUEST_BUDGET_MS",
      "PAYMENT_TIMEOUT_MS",
      "PAYMENT_RETRIES",
    ]) {
      expect(lanesEnv[name], name).toBe(antaeusEnv[name]);
    }
    expect(lanes.spec.template.spec.containerConcurrency).toBe(1);
    expect(
      Number(lanes.spec.template.metadata.annotations["autoscaling.knative.dev/max-scale"]),
    ).toBe(Number(lanesEnv.BILLING_LANES));
  });

  it.each([
    ["antaeus", antaeusEnv],
    ["payment", paymentEnv],
  ])(
    "%s's DATABASE_URL names its own namespace's PostgreSQL and the Secret's credentials",
    (name, env) => {
      const secret = find(docs, "Secret", "database", name);
      const url = new URL(env.DATABASE_URL as string);
      expect(url.hostname).toBe(`postgres.${name}.svc.cluster.local`);
      expect(decodeURIComponent(url.username)).toBe(secret.stringData.username);
      expect(decodeURIComponent(url.password)).toBe(secret.stringData.password);
      expect(url.pathname).toBe(`/${secret.stringData.database}`);
      find(docs, "StatefulSet", "postgres", name);
    },
  );

  // knative/serving queue.go hands timeoutSeconds to queue-proxy (REVISION_TIMEOUT_SECONDS),
  // which ends the request there; deploy.go BuildPodSpec makes it the pods' grace period too.
  it.each([
    ["antaeus", antaeus, antaeusEnv],
    ["antaeus-billing", lanes, lanesEnv],
  ])("%s: the billing budget ends well inside the ksvc's timeoutSeconds", (_, service, env) => {
    const config = loadAntaeusConfig(env);
    const timeoutMs = service.spec.template.spec.timeoutSeconds * 1000;
    const { requestBudgetMs, timeoutMs: chargeTimeout, retries } = config.billing;
    // The last charge started before the budget ran out must still finish before Knative
    // cuts the request, with room left for writing the verdicts and answering.
    expect(requestBudgetMs + worstCaseChargeMs(chargeTimeout, retries)).toBeLessThan(timeoutMs);
    expect(requestBudgetMs).toBeLessThanOrEqual(0.85 * timeoutMs);
  });

  it.each([
    ["antaeus", [antaeus, lanes]],
    ["payment", [payment]],
  ])(
    "%s's ksvcs at max-scale cannot exhaust PostgreSQL's 100 default connections",
    (_, services) => {
      const connections = services.reduce((sum, service) => {
        const max = service.spec.template.metadata.annotations["autoscaling.knative.dev/max-scale"];
        return sum + Number(max) * Number(resolvedEnv(docs, service).DATABASE_POOL_MAX);
      }, 0);
      expect(connections).toBeLessThanOrEqual(90);
    },
  );
});

describe("configuration", () => {
  it("both images set NODE_ENV=production, so the manifests are read as production config", () => {
    expect(antaeusEnv.NODE_ENV).toBe("production");
    expect(paymentEnv.NODE_ENV).toBe("production");
  });

  it("Antaeus's config loader accepts the manifest's env in production, the billing lanes' too", () => {
    expect(missingFor(loadAntaeusConfig, lanesEnv)).toEqual([]);
    expect(loadAntaeusConfig(lanesEnv).production).toBe(true);
    expect(missingFor(loadAntaeusConfig, antaeusEnv)).toEqual([]);
    const config = loadAntaeusConfig(antaeusEnv);
    expect(config.production).toBe(true);
    expect(config.billing.providerEndpoint).toBe(antaeusEnv.PAYMENT_PROVIDER_ENDPOINT);
    expect(config.billing.tokenFile).toBe(antaeusEnv.PAYMENT_TOKEN_FILE);
  });

  it("payment's config loader accepts the manifest's env in production, with auth on", () => {
    expect(missingFor(loadPaymentConfig, paymentEnv)).toEqual([]);
    const config = loadPaymentConfig(paymentEnv);
    expect(config.production).toBe(true);
    expect(config.auth.mode).toBe("jwks");
  });

  it.each([
    ["antaeus", loadAntaeusConfig, antaeusEnv],
    ["payment", loadPaymentConfig, paymentEnv],
  ] as const)("%s: every variable the code requires in production is set", (_, load, env) => {
    // Ask the code: with nothing but NODE_ENV=production, what does the loader want?
    const required = missingFor(load, { NODE_ENV: "production" });
    expect(required.length).toBeGreaterThan(0);
    for (const name of required) expect(env, name).toHaveProperty(name);
  });

  it("the variables this deployment relies on are set (the issue's list)", () => {
    for (const name of [
      "DATABASE_URL",
      "PAYMENT_PROVIDER_ENDPOINT",
      "PAYMENT_TOKEN_FILE",
      "BILLING_LANE_URL",
      "BILLING_REQUEST_BUDGET_MS",
    ]) {
      expect(antaeusEnv, name).toHaveProperty(name);
    }
    for (const name of [
      "DATABASE_URL",
      "PAYMENT_AUTH",
      "PAYMENT_AUTH_AUDIENCE",
      "PAYMENT_AUTH_SUBJECT",
    ]) {
      expect(paymentEnv, name).toHaveProperty(name);
    }
    // No issuer is named: it is read from the API server, wherever the cluster runs
    // (issue 21: a named kubeadm issuer refused every charge on EKS, GKE and AKS).
    expect(paymentEnv).not.toHaveProperty("PAYMENT_AUTH_ISSUER");
    expect(paymentEnv).not.toHaveProperty("PAYMENT_AUTH_JWKS_URL");
  });

  it.each([
    ["antaeus", antaeus, "antaeus"],
    ["antaeus-billing", lanes, "antaeus"],
    ["payment", payment, "payment"],
  ])(
    "%s: every variable the manifest sets is one the code reads (no typos)",
    async (_, service, name) => {
      const sources = [
        ...filesUnder(join(ROOT, "functions", name), ".ts"),
        ...filesUnder(join(ROOT, "functions", "runtime"), ".ts"),
      ];
      const code = (await Promise.all(sources.map((f) => readFile(f, "utf8")))).join("\n");
      for (const entry of containerOf(service).env) {
        expect(code, `${entry.name} is not read by functions/${name}`).toMatch(
          new RegExp(`\\b${entry.name}\\b`),
        );
      }
    },
  );
});

describe("identity: only Antaeus's service account may charge", () => {
  const antaeusSpec = antaeus.spec.template.spec;
  const paymentAuth = () => {
    const config = loadPaymentConfig(paymentEnv);
    if (config.auth.mode !== "jwks") throw new Error("payment auth is off");
    return config.auth;
  };

  it.each([
    ["antaeus", antaeus, antaeusEnv],
    ["antaeus-billing", lanes, lanesEnv],
  ])(
    "%s mounts a token whose audience is the one payment accepts, where PAYMENT_TOKEN_FILE says",
    (_, service, env) => {
      const mount = containerOf(service).volumeMounts.find((m: Manifest) =>
        (env.PAYMENT_TOKEN_FILE as string).startsWith(`${m.mountPath}/`),
      );
      expect(mount, "a volume mounted above PAYMENT_TOKEN_FILE").toBeDefined();
      const volume = service.spec.template.spec.volumes.find(
        (v: Manifest) => v.name === mount.name,
      );
      const token = volume.projected.sources.find((s: Manifest) => s.serviceAccountToken)
        ?.serviceAccountToken as Manifest;
      expect(`${mount.mountPath}/${token.path}`).toBe(env.PAYMENT_TOKEN_FILE);
      expect(token.audience).toBe(paymentAuth().audience);
      expect(token.audience).toBe("payment");
      expect(token.expirationSeconds).toBeGreaterThanOrEqual(600);
    },
  );

  it("payment accepts exactly Antaeus's service account as subject, the one both its ksvcs run as", () => {
    expect(lanes.spec.template.spec.serviceAccountName).toBe(antaeusSpec.serviceAccountName);
    const account = find(docs, "ServiceAccount", antaeusSpec.serviceAccountName, "antaeus");
    expect(paymentAuth().subjects).toEqual([
      `system:serviceaccount:${account.metadata.namespace}:${account.metadata.name}`,
    ]);
    // Antaeus's API token reads the issuer's keys (to verify its own callers) and nothing more.
    expect(account.automountServiceAccountToken).not.toBe(false);
  });

  it("payment reads the issuer and its keys from the pod's API server: its own API token, and the RBAC to read them", () => {
    const auth = paymentAuth();
    const apiServer = `https://${KUBELET_ENV.KUBERNETES_SERVICE_HOST}:${KUBELET_ENV.KUBERNETES_SERVICE_PORT}`;
    expect(auth.issuer).toMatchObject({ kind: "discovered", apiServer: { url: apiServer } });
    expect(auth.jwksUrl).toBe(`${apiServer}/openid/v1/jwks`);
    expect(auth.jwksTokenFile).toBe("/var/run/secrets/kubernetes.io/serviceaccount/token");
    expect(auth.jwksCaFile).toBe("/var/run/secrets/kubernetes.io/serviceaccount/ca.crt");
    const account = find(
      docs,
      "ServiceAccount",
      payment.spec.template.spec.serviceAccountName,
      "payment",
    );
    expect(account.automountServiceAccountToken).toBe(true);
    const bindings = docs.filter(
      (d) =>
        d.kind === "ClusterRoleBinding" &&
        d.roleRef.name === "system:service-account-issuer-discovery",
    );
    expect(bindings.flatMap((b) => b.subjects)).toContainEqual({
      kind: "ServiceAccount",
      name: account.metadata.name,
      namespace: "payment",
    });
  });
});
