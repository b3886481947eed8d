import { spawnSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import { type EmbeddedPostgres, startEmbeddedPostgres } from "../../dev/embedded-postgres.js";
import { freePort } from "../../dev/free-port.js";
import {
  appLayerBytes,
  baseImageOf,
  buildImage,
  containerEngine,
  engineOutput,
} from "../../scripts/containers.mjs";
import { mountedAuthConfig } from "../knative/auth-manifests.js";
import {
  find,
  KNATIVE_DIR,
  loadManifests,
  renderWithKubectl,
  resolvedEnv,
} from "../knative/manifests.js";
import { type ApiServerStandIn, startApiServer } from "../support/api-server.js";
import {
  type Container,
  readableFile,
  removeReadableFiles,
  runContainer,
  waitUntilReady,
} from "./support.js";

// Both images, run as Knative runs them, wired as the manifests wire them, against a real
// PostgreSQL: the judged scenario, the identity check between them, and SIGTERM handling.
// The env starts from the manifests' own; only what names the cluster (the database host, the
// services' addresses) is replaced by this machine's. No issuer is configured: each container
// reads it from a stand-in API server with a managed cluster's discovery document (EKS's), as
// a pod would, through KUBERNETES_SERVICE_HOST/PORT and the mounted token and cluster CA.

const { docs } = loadManifests();
const manifestEnv = (name: string) => resolvedEnv(docs, find(docs, "Service", name));

const images = { antaeus: "", payment: "" };
const buildMs = { antaeus: 0, payment: 0 };
let postgres: EmbeddedPostgres;
let postgresDir: string;
let api: ApiServerStandIn;
let payment: Container;
let antaeus: Container;
/** The same image in the production profile (knative/production/), on its own database. */
let antaeusProduction: Container;
const readyMs = { antaeus: 0, payment: 0 };
const containers: Container[] = [];

beforeAll(async () => {
  const engine = containerEngine();
  console.log(`container engine: ${engine.command}`);
  for (const name of ["payment", "antaeus"] as const) {
    const started = performance.now();
    images[name] = buildImage(name);
    buildMs[name] = Math.round(performance.now() - started);
  }

  postgresDir = await mkdtemp(join(tmpdir(), "containers-pg-"));
  postgres = await startEmbeddedPostgres({ dataDir: postgresDir, persistent: false, fast: true });
  api = await startApiServer("eks");
  const paymentPort = await freePort();
  // What Kubernetes gives every pod: the API server's address, and its own token and the CA.
  const kubelet = { KUBERNETES_SERVICE_HOST: api.host, KUBERNETES_SERVICE_PORT: String(api.port) };
  const serviceAccount = {
    [await readableFile(api.apiToken)]: "/var/run/secrets/kubernetes.io/serviceaccount/token",
    [await readableFile(api.ca)]: "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt",
  };

  const paymentEnv = manifestEnv("payment");
  payment = runContainer({
    service: "payment",
    image: images.payment,
    port: paymentPort,
    env: { ...paymentEnv, ...kubelet, DATABASE_URL: await postgres.ensureDatabase("payment") },
    files: serviceAccount,
  });
  containers.push(payment);
  readyMs.payment = await waitUntilReady(payment);

  const antaeusEnv = manifestEnv("antaeus");
  const subject = paymentEnv.PAYMENT_AUTH_SUBJECT as string;
  const paymentToken = await api.token(subject, paymentEnv.PAYMENT_AUTH_AUDIENCE as string);
  // Antaeus's auth config exactly as the ConfigMap mounts it: its cluster issuer is discovered.
  const authConfig = mountedAuthConfig(docs, antaeusEnv);
  const selfToken = await api.token(subject, "antaeus");
  const start = async (profile: "challenge" | "production") => {
    const port = await freePort();
    const container = runContainer({
      service: "antaeus",
      image: images.antaeus,
      port,
      env: {
        ...antaeusEnv,
        ...kubelet,
        ANTAEUS_AUTH_OPEN_ROUTES: profile === "challenge" ? "original" : productionOpenRoutes(),
        DATABASE_URL: await postgres.ensureDatabase(`antaeus_${profile}`),
        PAYMENT_PROVIDER_ENDPOINT: `http://127.0.0.1:${paymentPort}${new URL(antaeusEnv.PAYMENT_PROVIDER_ENDPOINT as string).pathname}`,
        BILLING_LANE_URL: `http://127.0.0.1:${port}`,
        // Both containers share the host's network: each its own metrics port.
        METRICS_PORT: String(await freePort()),
      },
      files: {
        [await readableFile(paymentToken)]: antaeusEnv.PAYMENT_TOKEN_FILE as string,
        [await readableFile(selfToken)]: antaeusEnv.BILLING_SELF_TOKEN_FILE as string,
        [await readableFile(authConfig)]: antaeusEnv.ANTAEUS_AUTH_CONFIG_FILE as string,
        ...serviceAccount,
      },
    });
    containers.push(container);
    return container;
  };
  antaeus = await start("challenge");
  readyMs.antaeus = await waitUntilReady(antaeus);
  antaeusProduction = await start("production");
  await waitUntilReady(antaeusProduction);
});

/** ANTAEUS_AUTH_OPEN_ROUTES as `kubectl apply -k knative/production/` sets it. */
function productionOpenRoutes(): string {
  // Read from the ksvc itself: the production render holds no database Secret to resolve
  // (the cluster's secret manager or deploy.sh provides it).
  const rendered = renderWithKubectl(join(KNATIVE_DIR, "production"));
  const env: Array<{ name: string; value?: string }> = find(rendered, "Service", "antaeus").spec
    .template.spec.containers[0].env;
  const openRoutes = env.find((entry) => entry.name === "ANTAEUS_AUTH_OPEN_ROUTES")?.value;
  if (!openRoutes) throw new Error("knative/production sets no ANTAEUS_AUTH_OPEN_ROUTES");
  return openRoutes;
}

afterAll(async () => {
  for (const container of containers) container.remove();
  await api?.close();
  await postgres?.stop();
  if (postgresDir) await rm(postgresDir, { recursive: true, force: true });
  await removeReadableFiles();
});

/** On failure, the containers' last log lines say more than the assertion. */
function showLogsOnFailure() {
  onTestFailed(() => {
    for (const container of containers) {
      console.log(`--- ${container.name}\n${container.logs().split("\n").slice(-30).join("\n")}`);
    }
  });
}

describe("the images", () => {
  it.each(["antaeus", "payment"] as const)(
    "%s: non-root, NODE_ENV=production, node as the exec-form entrypoint starting from the image's startup snapshot, no shell, no npm",
    (name) => {
      const inspect = (format: string) =>
        engineOutput(["image", "inspect", "--format", format, images[name]]);
      expect(inspect("{{.Config.User}}")).toBe("65532:65532");
      expect(inspect("{{json .Config.Env}}")).toContain('"NODE_ENV=production"');
      expect(JSON.parse(inspect("{{json .Config.Entrypoint}}"))).toEqual(["/nodejs/bin/node"]);
      expect(JSON.parse(inspect("{{json .Config.Cmd}}"))).toEqual([
        "--snapshot-blob",
        `/app/${name}.blob`,
      ]);
      for (const program of ["sh", "npm"]) {
        const attempt = spawnSync(
          containerEngine().command,
          ["run", "--rm", "--entrypoint", program, images[name], "--version"],
          { encoding: "utf8" },
        );
        expect(attempt.status, `${program} must not be in the image`).not.toBe(0);
        expect(attempt.stderr).toMatch(/not found/i);
      }
      const kib = Math.round(appLayerBytes(name) / 1024);
      console.log(
        `${images[name]}: app layer ${kib} KiB over ${baseImageOf(name)}; built in ${buildMs[name]} ms`,
      );
      // The bundle (about 3 MB) and its startup snapshot (9 to 11 MB, 6.4 of it Node's own heap).
      expect(kib).toBeLessThan(16 * 1024);
    },
  );
});

describe("running as Knative runs them", () => {
  it("both became ready on a read-only root, migrated, and log their Knative revision", () => {
    showLogsOnFailure();
    console.log(`ready after: payment ${readyMs.payment} ms, antaeus ${readyMs.antaeus} ms`);
    expect(antaeus.logs()).toContain('"revision":"antaeus-00001"');
    expect(payment.logs()).toContain('"revision":"payment-00001"');
    expect(antaeus.logs()).toContain("migrations applied");
  });

  it.each(["antaeus", "payment"] as const)(
    "%s serves its API reference page and the script it loads from the image (payment's to Antaeus's token alone)",
    async (name) => {
      const base = name === "antaeus" ? antaeus.url : payment.url;
      const headers: Record<string, string> = {};
      if (name === "payment") {
        // Any workload reaches payment's port through Knative: its description is for Antaeus.
        expect((await fetch(`${base}/docs`)).status).toBe(401);
        const subject = "system:serviceaccount:antaeus:antaeus";
        headers.authorization = `Bearer ${await api.token(subject, "payment")}`;
      }
      const page = await fetch(`${base}/docs`, { headers });
      expect(page.status).toBe(200);
      expect(page.headers.get("content-security-policy")).toContain("default-src 'none'");
      const script = await fetch(`${base}/docs/swagger-ui-bundle.js`, { headers });
      expect(script.status).toBe(200);
      expect(await script.text()).toContain("SwaggerUIBundle");
    },
  );

  it("payment charges only for Antaeus's identity", async () => {
    showLogsOnFailure();
    const charge = (headers: Record<string, string>) =>
      fetch(`${payment.url}/v1/charges`, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: JSON.stringify({ customer_id: 1, currency: "DKK", value: 1 }),
      });
    expect((await charge({})).status).toBe(401);
    const stranger = await api.token("system:serviceaccount:default:default", "payment");
    expect((await charge({ authorization: `Bearer ${stranger}` })).status).toBe(403);
    const wrongAudience = await api.token("system:serviceaccount:antaeus:antaeus", "api");
    expect((await charge({ authorization: `Bearer ${wrongAudience}` })).status).toBe(401);
  });

  // The challenge is judged without credentials; production takes the documented token
  // (README, "Calling Antaeus": `kubectl create token antaeus-operator -n antaeus --audience
  // antaeus`, minted here by the issuer stand-in for the same subject and audience).
  it.each([
    ["challenge", () => antaeus, async () => ({})],
    [
      "production",
      () => antaeusProduction,
      async () => ({
        authorization: `Bearer ${await api.token("system:serviceaccount:antaeus:antaeus-operator", "antaeus")}`,
      }),
    ],
  ] as const)(
    "the judged scenario, %s profile: pay, fetch all invoices, 40 to 60 percent PAID, none PROCESSING",
    async (profile, container, credentials) => {
      showLogsOnFailure();
      const base = container().url;
      const headers: Record<string, string> = await credentials();
      // Watching the run is ours, not the original's: it takes a token in both profiles.
      const operator = {
        authorization: `Bearer ${await api.token("system:serviceaccount:antaeus:antaeus-operator", "antaeus")}`,
      };
      if (profile === "production") {
        expect((await fetch(`${base}/rest/v1/invoices/pay`, { method: "POST" })).status).toBe(401);
        expect((await fetch(`${base}/rest/v1/invoices`)).status).toBe(401);
      }
      const started = performance.now();
      const response = await fetch(`${base}/rest/v1/invoices/pay`, { method: "POST", headers });
      expect([200, 202]).toContain(response.status);
      let run = (await response.json()) as { id: number; status: string; total: number };
      while (run.status !== "COMPLETED") {
        expect(performance.now() - started, "run still going after 4 minutes").toBeLessThan(
          240_000,
        );
        await new Promise((resolve) => setTimeout(resolve, 500));
        run = (await (
          await fetch(`${base}/rest/v1/billing/runs/${run.id}`, { headers: operator })
        ).json()) as never;
      }
      const invoices = (await (
        await fetch(`${base}/rest/v1/invoices`, { headers })
      ).json()) as Array<{
        status: string;
      }>;
      const paid = invoices.filter((invoice) => invoice.status === "PAID").length;
      console.log(
        `judged scenario (${profile}): ${paid} of ${invoices.length} PAID in ${Math.round(performance.now() - started)} ms`,
      );
      expect(invoices.length).toBeGreaterThan(0);
      expect(run.total).toBe(invoices.length);
      expect(paid / invoices.length).toBeGreaterThanOrEqual(0.4);
      expect(paid / invoices.length).toBeLessThanOrEqual(0.6);
      expect(invoices.filter((invoice) => invoice.status === "PROCESSING")).toEqual([]);
      // The charges really went through token verification against the issuer's keys, and the
      // issuer was read from the API server, not configured.
      const paths = api.requests.map((r) => r.path);
      expect(paths).toContain("/.well-known/openid-configuration");
      expect(paths).toContain("/openid/v1/jwks");
    },
  );

  it("stop with a short grace period ends each container by SIGTERM, not by kill", () => {
    showLogsOnFailure();
    for (const container of [antaeus, antaeusProduction, payment]) {
      const { exitCode, ms } = container.stop(10);
      console.log(`${container.name}: exit ${exitCode} ${ms} ms after stop -t 10`);
      // A kill after the grace period would show as 137 (128 + SIGKILL) and take 10 s.
      expect(exitCode).toBe(0);
      expect(ms).toBeLessThan(10_000);
      expect(container.logs()).toContain('"msg":"stopped"');
    }
  });
});

describe("the startup snapshot", () => {
  it.each(["antaeus", "payment"] as const)(
    "%s: a cold start on a read-only root begins in the snapshot's own entry",
    (name) => {
      // No configuration: the entry the snapshot holds reads the environment and stops there. A
      // blob another Node built would not start at all ("Failed to load the startup snapshot").
      const engine = containerEngine().command;
      const run = spawnSync(engine, ["run", "--rm", "--read-only", images[name]], {
        encoding: "utf8",
      });
      expect(run.stderr).toContain(`${name}: invalid configuration`);
      expect(run.status).toBe(1);
    },
  );
});
