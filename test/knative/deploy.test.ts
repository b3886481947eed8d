import { execFileSync, spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DaemonSet } from "kubernetes-models/apps/v1/DaemonSet";
import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { EndpointSlice } from "kubernetes-models/discovery.k8s.io/v1/EndpointSlice";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ENGINES, KN_SERVICE_UPDATE, KUBECTL, kubectlCommand } from "./cli-flags.js";
import { kustomize } from "./cluster-stub/cluster.js";
import { serveStandIns } from "./cluster-stub/serve.js";
import { parseFlags } from "./kn.js";
import { KN_SERVICE_CREATE, KN_SOURCE_PING_CREATE } from "./kn-flags.js";
import { KNATIVE_DIR, kubectlVersion, type Manifest, parseYaml, ROOT } from "./manifests.js";
import { validateObject } from "./models.js";
import { restrictedViolations } from "./pod-security.js";
import { revisionDeployment } from "./revision.js";

// scripts/deploy.sh against stand-ins for kubectl, kn, docker, podman and curl (cluster-stub/),
// which answer from two recorded clusters: kind (kubeadm-made, Kourier from its own manifest, a
// sslip.io domain) and EKS (a managed cluster: its own issuer, two API server addresses on 443,
// the Knative Operator's Kourier behind a load balancer, no domain). What the script applies is
// rendered by the real kubectl kustomize and checked like every manifest here. The stand-ins are
// answered from this process (cluster-stub/serve.ts), so the script runs while it waits.

const SCRIPT = join(ROOT, "scripts", "deploy.sh");
const CLUSTERS = join(ROOT, "test", "knative", "fixtures", "clusters");
const REAL_KUBECTL = kubectlVersion()
  ? execFileSync("sh", ["-c", "command -v kubectl"], { encoding: "utf8" }).trim()
  : "";
const REGISTRY = "ghcr.io/acme";
const FUNCTIONS = ["antaeus", "payment"];
const work = mkdtempSync(join(tmpdir(), "deploy-"));
const runs: string[] = [];
const standIns = await serveStandIns({
  kubectl: REAL_KUBECTL,
  knHelp: Object.keys(KN_SERVICE_CREATE.flags)
    .map((f) => `      --${f}`)
    .join("\n"),
});
// kubectl, kn, docker, podman and curl: stand-in.sh, its first line naming this machine's bash
// (no /usr/bin/env between: the deploys here make about five hundred calls).
const bin = join(work, "bin");
mkdirSync(bin);
const bash = execFileSync("sh", ["-c", "command -v bash"], { encoding: "utf8" }).trim();
const standIn = readFileSync(join(ROOT, "test", "knative", "cluster-stub", "stand-in.sh"), "utf8");
writeFileSync(join(work, "stand-in"), standIn.replace(/^#!.*/, `#!${bash}`), { mode: 0o755 });
for (const tool of ["kubectl", "kn", "docker", "podman", "curl"]) {
  symlinkSync(join(work, "stand-in"), join(bin, tool));
}
afterAll(() => {
  standIns.close();
  rmSync(work, { recursive: true, force: true });
  for (const run of runs) rmSync(join(ROOT, ".deploy", run), { recursive: true, force: true });
});

interface State {
  objects: Manifest[];
  applied: Array<{ how: string; source: string; objects: Manifest[] }>;
  created: Manifest[];
}

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** A cluster as recorded, its state, and the stand-ins on PATH. */
function cluster(name: "kind" | "eks", { without = [] as string[] } = {}) {
  const dir = mkdtempSync(join(work, `${name}-`));
  const recorded = JSON.parse(
    readFileSync(join(CLUSTERS, name, "objects.json"), "utf8"),
  ) as Manifest;
  const objects = recorded.items.filter((o: Manifest) => !without.includes(o.metadata.name));
  writeFileSync(join(dir, "state.json"), JSON.stringify({ objects, applied: [], created: [] }));
  let n = 0;
  return {
    state: (): State => JSON.parse(readFileSync(join(dir, "state.json"), "utf8")),
    calls: (): string[][] =>
      readFileSync(join(dir, "log"), "utf8")
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line)),
    /** Runs the script; every call from then on is logged afresh. */
    async run(args: string[], env: Record<string, string> = {}): Promise<Run> {
      writeFileSync(join(dir, "log"), "");
      const run = `test-${name}-${process.pid}-${++n}-${Math.random().toString(36).slice(2, 8)}`;
      runs.push(run);
      const child = spawn("bash", [SCRIPT, ...args], {
        env: {
          PATH: `${bin}:${process.env.PATH}`,
          HOME: dir,
          STUB_PORT: String(standIns.port),
          STUB_LOG: join(dir, "log"),
          STUB_STATE: join(dir, "state.json"),
          STUB_CLUSTER: join(CLUSTERS, name),
          REGISTRY,
          TAG: "t1",
          DEPLOY_RUN: run,
          ...env,
        },
      });
      const said = { stdout: "", stderr: "" };
      child.stdout.on("data", (chunk) => (said.stdout += chunk));
      child.stderr.on("data", (chunk) => (said.stderr += chunk));
      const [status] = (await once(child, "close")) as [number | null];
      return { status, ...said };
    },
  };
}

/** The objects `kubectl kustomize` renders for a profile: what the script must wait for. */
const rendered = (dir: string) => parseYaml(kustomize(REAL_KUBECTL, dir), dir);
const ksvcsOf = (docs: Manifest[]) =>
  docs
    .filter((d) => d.apiVersion === "serving.knative.dev/v1" && d.kind === "Service")
    .map((d) => `${d.metadata.namespace}/${d.metadata.name}`)
    .sort();

const decode = (secret: Manifest, key: string) =>
  Buffer.from(secret.data[key], "base64").toString("utf8");

/** Every flag of every call is one its command documents (cli-flags.ts, kn-flags.ts). */
function checkFlags(calls: string[][]) {
  for (const [tool, ...args] of calls) {
    if (tool === "kubectl") {
      const { name, rest } = kubectlCommand(args);
      expect(
        () => parseFlags(rest, KUBECTL[name] as never),
        `kubectl ${args.join(" ")}`,
      ).not.toThrow();
    } else if (tool === "docker" || tool === "podman") {
      const command = ENGINES[tool]?.[args[0] as string];
      expect(command, `${tool} ${args[0]}`).toBeDefined();
      expect(() => parseFlags(args.slice(1), command as never)).not.toThrow();
    } else if (tool === "kn") {
      const kind = args.slice(0, 2).join(" ");
      const command =
        kind === "service create"
          ? KN_SERVICE_CREATE
          : kind === "service update"
            ? KN_SERVICE_UPDATE
            : KN_SOURCE_PING_CREATE;
      expect(() => parseFlags(args.slice(kind === "source ping" ? 3 : 2), command)).not.toThrow();
    }
  }
}

const shellcheck = spawnSync("shellcheck", ["--version"]).status === 0;
it.skipIf(!shellcheck && process.env.CI !== "true")(
  shellcheck
    ? "scripts/deploy.sh is shellcheck-clean"
    : "scripts/deploy.sh is shellcheck-clean: SKIPPED, no shellcheck",
  () => {
    expect(() => execFileSync("shellcheck", [SCRIPT], { encoding: "utf8" })).not.toThrow();
  },
);

describe.skipIf(!REAL_KUBECTL)("the recordings", () => {
  it.each(["kind", "eks"])("%s: every recorded object is valid for its schema", (name) => {
    const { items } = JSON.parse(readFileSync(join(CLUSTERS, name, "objects.json"), "utf8"));
    const models: Record<string, new (d: never) => { validate(): void }> = {
      "apps/v1/Deployment": Deployment,
      "apps/v1/DaemonSet": DaemonSet as never,
      "discovery.k8s.io/v1/EndpointSlice": EndpointSlice,
    };
    for (const object of items as Manifest[]) {
      const Model = models[`${object.apiVersion}/${object.kind}`];
      if (Model) expect(() => new Model(object as never).validate()).not.toThrow();
      else validateObject(object);
    }
  });

  // The stand-in's jsonpath agrees with kubectl's own printer on the templates the script uses.
  it("the stand-in's jsonpath prints as kubectl does", async () => {
    const { jsonpath } = await import("./cluster-stub/jsonpath.mjs");
    const { items } = JSON.parse(readFileSync(join(CLUSTERS, "eks", "objects.json"), "utf8"));
    for (const [object, template] of [
      [items[1], "{.metadata.labels.app\\.kubernetes\\.io/version}"],
      [items[3], "{.data.ingress-class}{.data.ingress\\.class}"],
      [
        items[5],
        "{.metadata.name} {.status.loadBalancer.ingress[0].ip}{.status.loadBalancer.ingress[0].hostname}",
      ],
    ] as const) {
      const file = join(work, "object.json");
      writeFileSync(file, JSON.stringify(object));
      const real = execFileSync(
        REAL_KUBECTL,
        ["patch", "--local", "-f", file, "-p", "{}", "--type=merge", "-o", `jsonpath=${template}`],
        { encoding: "utf8" },
      );
      expect(jsonpath(template, object)).toBe(real);
    }
  });
});

describe.skipIf(!REAL_KUBECTL).each([
  ["kind", "challenge"],
  ["kind", "production"],
  ["eks", "challenge"],
  ["eks", "production"],
] as const)("on %s, the %s profile", (name, profile) => {
  // A first deploy, then a second as an upgrade: what each printed, called and left behind.
  let first: Run;
  let firstCalls: string[][];
  let afterFirst: State;
  let second: Run;
  let secondCalls: string[][];
  let afterSecond: State;
  let applied: Manifest[];
  beforeAll(async () => {
    const stub = cluster(name);
    first = await stub.run([profile]);
    firstCalls = stub.calls();
    afterFirst = stub.state();
    second = await stub.run([profile], { TAG: "t2" });
    secondCalls = stub.calls();
    afterSecond = stub.state();
    applied = afterFirst.applied.find((a) => a.how === "kustomize")?.objects ?? [];
  });
  const profileDir = profile === "challenge" ? KNATIVE_DIR : join(KNATIVE_DIR, "production");
  const slice = JSON.parse(readFileSync(join(CLUSTERS, name, "objects.json"), "utf8")).items.find(
    (o: Manifest) => o.kind === "EndpointSlice",
  );

  it("deploys, and deploys again as an upgrade", () => {
    console.log(`--- scripts/deploy.sh ${profile} on ${name}\n${first.stdout}${first.stderr}`);
    expect(first.stderr).toBe("");
    expect(first.status).toBe(0);
    expect(second.stderr).toBe("");
    expect(second.status).toBe(0);
  });

  it("uses only flags kubectl, docker, podman and kn document", () => {
    checkFlags([...firstCalls, ...secondCalls]);
  });

  it("applies the profile, every object valid, each Knative Service as the Deployment Knative derives", () => {
    const expected = rendered(profileDir).filter(
      (d) => !(d.kind === "Secret" && d.metadata.name === "database"),
    );
    const key = (d: Manifest) =>
      `${d.apiVersion}/${d.kind}/${d.metadata.namespace ?? ""}/${d.metadata.name}`;
    expect(applied.map(key).sort()).toEqual(expected.map(key).sort());
    for (const object of applied) expect(() => validateObject(object), key(object)).not.toThrow();
    for (const ksvc of applied.filter(
      (d) => d.apiVersion === "serving.knative.dev/v1" && d.kind === "Service",
    )) {
      const deployment = revisionDeployment(ksvc);
      expect(() => new Deployment(deployment as never).validate()).not.toThrow();
      expect(restrictedViolations(deployment.spec.template.spec)).toEqual([]);
    }
  });

  it("runs the images it built and pushed, from REGISTRY at TAG", () => {
    const engine = firstCalls.filter((c) => c[0] === "docker" && c[1] !== "version");
    const image = (c: string[]) => (c[1] === "build" ? c[c.indexOf("-t") + 1] : c[2]);
    expect(engine.map((c) => `${c[1]} ${image(c)}`)).toEqual(
      FUNCTIONS.flatMap((f) => [`build ${REGISTRY}/${f}:t1`, `push ${REGISTRY}/${f}:t1`]),
    );
    const images = applied
      .filter((d) => d.apiVersion === "serving.knative.dev/v1" && d.kind === "Service")
      .map((d) => d.spec.template.spec.containers[0].image);
    expect(images.length).toBeGreaterThan(0);
    for (const image of images)
      expect(image).toMatch(new RegExp(`^${REGISTRY}/(${FUNCTIONS.join("|")}):t1$`));
    const upgraded = afterSecond.objects.filter((d) => d.apiVersion === "serving.knative.dev/v1");
    for (const ksvc of upgraded)
      expect(ksvc.spec.template.spec.containers[0].image).toMatch(/:t2$/);
  });

  // The API server's own addresses, as the EndpointSlice the API server writes for itself holds
  // them (kubernetes pkg/controlplane/reconcilers/endpointsadapter.go, endpointSliceFromEndpoints).
  it("lets the functions reach exactly the API server's addresses and port", () => {
    const policies = applied.filter(
      (d) => d.kind === "NetworkPolicy" && d.metadata.name === "function-egress-api-server",
    );
    expect(policies.map((p) => p.metadata.namespace).sort()).toEqual(["antaeus", "payment"]);
    for (const policy of policies) {
      expect(policy.spec.egress).toEqual([
        {
          to: slice.endpoints.map((e: Manifest) => ({ ipBlock: { cidr: `${e.addresses[0]}/32` } })),
          ports: slice.ports.map((p: Manifest) => ({ port: p.port, protocol: "TCP" })),
        },
      ]);
    }
  });

  it("creates each database Secret with a random password once, applies none, and keeps them on the next run", () => {
    expect(applied.filter((d) => d.kind === "Secret")).toEqual([]);
    expect(
      afterFirst.created.map((s) => `${s.metadata.namespace}/${s.metadata.name}`).sort(),
    ).toEqual(["antaeus/database", "payment/database"]);
    for (const secret of afterFirst.created) {
      const namespace = secret.metadata.namespace;
      const password = decode(secret, "password");
      expect(password).toMatch(/^[0-9a-f]{48}$/);
      expect(decode(secret, "username")).toBe(namespace);
      expect(decode(secret, "database")).toBe(namespace);
      expect(decode(secret, "url")).toBe(
        `postgres://${namespace}:${password}@postgres.${namespace}.svc.cluster.local:5432/${namespace}`,
      );
      // The password went through a file, never the command line.
      expect(firstCalls.flat().join(" ")).not.toContain(password);
    }
    const [a, b] = afterFirst.created;
    expect(decode(a as Manifest, "password")).not.toBe(decode(b as Manifest, "password"));
    // The second run creates nothing and changes no Secret.
    expect(secondCalls.filter((c) => c[1] === "create")).toEqual([]);
    const secrets = (state: State) =>
      JSON.stringify(state.objects.filter((o) => o.kind === "Secret"));
    expect(secrets(afterSecond)).toBe(secrets(afterFirst));
    expect(second.stdout).toContain("Keeping antaeus/database");
  });

  it("waits until every Knative Service of the profile is Ready, whatever their number", () => {
    const waited = firstCalls
      .filter((c) => c[0] === "kubectl" && c[1] === "wait" && c.includes("--for=condition=Ready"))
      .map((c) => `${c[c.indexOf("-n") + 1]}/${c[3]}`)
      .sort();
    expect(waited).toEqual(ksvcsOf(rendered(profileDir)));
  });

  it("prints the URL and the judged calls, through the gateway when the domain does not resolve", () => {
    const curls = first.stdout.split("\n").filter((l) => l.startsWith("curl "));
    expect(curls).toHaveLength(2);
    if (name === "kind") {
      expect(curls[0]).toContain("http://antaeus.antaeus.127.0.0.1.sslip.io/rest/v1/invoices/pay");
    } else {
      expect(first.stdout).toContain(
        "GATEWAY=a1b2c3d4e5f60718293a4b5c6d7e8f90-1234567890.eu-central-1.elb.amazonaws.com",
      );
      expect(curls[0]).toContain(
        '-H "Host: antaeus.antaeus.example.com" http://$GATEWAY/rest/v1/invoices/pay',
      );
    }
    if (profile === "production") {
      expect(first.stdout).toContain(
        "TOKEN=$(kubectl create token antaeus-operator -n antaeus --audience antaeus)",
      );
      for (const curl of curls) expect(curl).toContain('-H "Authorization: Bearer $TOKEN"');
    }
  });
});

describe.skipIf(!REAL_KUBECTL)("the preflight, --check", () => {
  it.each(["kind", "eks"] as const)(
    "on %s: says what it finds and what it would do, and changes nothing",
    async (name) => {
      const stub = cluster(name);
      const check = await stub.run(["production", "--check"]);
      console.log(`--- scripts/deploy.sh production --check on ${name}\n${check.stdout}`);
      expect(check.status).toBe(0);
      const issuer = JSON.parse(
        readFileSync(join(CLUSTERS, name, "openid-configuration.json"), "utf8"),
      ).issuer;
      expect(check.stdout).toContain(`issuer             ${issuer}`);
      expect(check.stdout).toMatch(/Knative Serving {4}1\.1\d\.\d/);
      expect(check.stdout).toMatch(/gateway {12}Kourier/);
      expect(check.stdout).toMatch(/NetworkPolicies {4}.*(API does not show|not known)/);
      expect(check.stdout).toContain(
        "Secret             antaeus/database: create, with a random password",
      );
      const changes = stub
        .calls()
        .filter(
          (c) =>
            ["apply", "create", "patch", "build", "push"].includes(c[1] as string) || c[0] === "kn",
        );
      expect(changes).toEqual([]);
      expect(stub.state().applied).toEqual([]);
    },
  );

  it("stops, naming it, where Knative Eventing is not installed", async () => {
    const stub = cluster("kind", { without: ["eventing-controller"] });
    const check = await stub.run(["--check"]);
    expect(check.status).toBe(1);
    expect(check.stdout).toContain("Knative Eventing   not installed");
    expect(check.stdout).toContain("Blocked: Knative Eventing is not installed");
    const deploy = await stub.run([]);
    expect(deploy.status).toBe(1);
    expect(stub.state().applied).toEqual([]);
  });
});

describe.skipIf(!REAL_KUBECTL)("engines and paths", () => {
  it("builds with podman where docker does not answer", async () => {
    const stub = cluster("kind");
    const run = await stub.run([], { STUB_NO_DOCKER: "1" });
    expect(run.status).toBe(0);
    const builds = stub.calls().filter((c) => c[1] === "build" || c[1] === "push");
    expect(new Set(builds.map((c) => c[0]))).toEqual(new Set(["podman"]));
  });

  it("with --kn: applies the platform objects, then creates with kn; again, updates each Service's image", async () => {
    const stub = cluster("eks");
    const first = await stub.run(["production", "--kn"]);
    expect(first.stderr).toBe("");
    expect(first.status).toBe(0);
    const applied = stub.state().applied.find((a) => a.how === "kustomize")?.objects ?? [];
    expect(
      applied.filter((d) => d.apiVersion === "serving.knative.dev/v1" || d.kind === "PingSource"),
    ).toEqual([]);
    const creates = stub
      .calls()
      .filter(
        (c) => c[0] === "kn" && c[2] === "create" && c[1] === "service" && !c.includes("--help"),
      );
    expect(creates.map((c) => c[3])).toEqual(["payment", "antaeus-billing", "antaeus"]);
    // kn-deploy.sh was given the production profile's open routes.
    const antaeus = creates.find((c) => c[3] === "antaeus") as string[];
    expect(antaeus).toContain("ANTAEUS_AUTH_OPEN_ROUTES=none");
    checkFlags(stub.calls());
    const second = await stub.run(["production", "--kn"], { TAG: "t2" });
    expect(second.status).toBe(0);
    const updates = stub.calls().filter((c) => c[0] === "kn" && c[2] === "update");
    expect(updates.map((c) => `${c[3]} ${c[c.indexOf("--image") + 1]}`).sort()).toEqual([
      `antaeus ${REGISTRY}/antaeus:t2`,
      `antaeus-billing ${REGISTRY}/antaeus:t2`,
      `payment ${REGISTRY}/payment:t2`,
    ]);
    checkFlags(stub.calls());
  });

  it("refuses to deploy without REGISTRY, after saying what it found", async () => {
    const stub = cluster("kind");
    const run = await stub.run([], { REGISTRY: "" });
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain("set REGISTRY");
    expect(stub.state().applied).toEqual([]);
  });
});

// Each flag in cli-flags.ts is one the installed kubectl documents in its own help.
it.skipIf(!REAL_KUBECTL)("every kubectl flag listed is in that command's --help", () => {
  const options = execFileSync(REAL_KUBECTL, ["options"], { encoding: "utf8" });
  for (const [name, command] of Object.entries(KUBECTL)) {
    const help =
      execFileSync(REAL_KUBECTL, [...name.split(" "), "--help"], { encoding: "utf8" }) + options;
    for (const flag of Object.keys(command.flags)) {
      if (flag === "help") continue;
      expect(help, `kubectl ${name} --${flag}`).toMatch(new RegExp(`--${flag}[=\\s:]`));
    }
  }
});

it("the generated kustomizations stay out of git", () => {
  expect(readFileSync(join(ROOT, ".gitignore"), "utf8")).toMatch(/^\.deploy\/$/m);
  expect(existsSync(join(ROOT, ".deploy", "kustomization.yaml"))).toBe(false);
});
