import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  applyJsonPatch,
  applyMergePatch,
  KN_RELEASES,
  knPingSourceCreate,
  knServiceCreate,
  parseFlags,
} from "./kn.js";
import { KN_SERVICE_CREATE, KN_SOURCE_PING_CREATE } from "./kn-flags.js";
import { find, KNATIVE_DIR, loadManifests, type Manifest, parseYaml, ROOT } from "./manifests.js";

// scripts/kn-deploy.sh, the kn path, run against stand-ins for kn and kubectl that record each
// command line (no cluster here). From those command lines the test builds what kn and kubectl
// would send (./kn.ts, from knative/client's source) and compares it with the YAML path's objects.

const SCRIPT = join(ROOT, "scripts", "kn-deploy.sh");
const { docs } = loadManifests();

/** kn's help text as the docs print it: how the script checks for --security-context. */
const helpFor = (flags: Record<string, string>) =>
  Object.entries(flags)
    .map(([name, type]) => `      --${name}${type === "bool" ? "" : ` ${type}`}`)
    .join("\n");

const work = mkdtempSync(join(tmpdir(), "kn-deploy-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const RECORDER = `#!/usr/bin/env node
const { appendFileSync } = require("node:fs");
const args = process.argv.slice(2);
appendFileSync(process.env.KN_DEPLOY_LOG, JSON.stringify([__filename.split("/").pop(), ...args]) + "\\n");
if (args.includes("--help")) process.stdout.write(process.env.KN_HELP + "\\n");
if (args[0] === "get" && args.join(" ").includes("{.metadata.generation}")) process.stdout.write("2");
`;
for (const tool of ["kn", "kubectl"]) {
  writeFileSync(join(work, tool), RECORDER);
  chmodSync(join(work, tool), 0o755);
}

/** The image the YAML path deploys, split into the REGISTRY and TAG the script takes. */
const kustomization = parseYaml(
  readFileSync(join(KNATIVE_DIR, "kustomization.yaml"), "utf8"),
  "kustomization.yaml",
)[0] as Manifest;
const antaeusImage = kustomization.images.find((i: Manifest) => i.name === "antaeus");
const REGISTRY = antaeusImage.newName.replace(/\/antaeus$/, "");
const TAG = antaeusImage.newTag;

function runScript(help: string, log: string) {
  return spawnSync("bash", [SCRIPT], {
    encoding: "utf8",
    env: {
      PATH: `${work}:${process.env.PATH}`,
      HOME: work,
      REGISTRY,
      TAG,
      KN_DEPLOY_LOG: log,
      KN_HELP: help,
    },
  });
}

const LOG = join(work, "calls.jsonl");
const run = runScript(helpFor(KN_SERVICE_CREATE.flags), LOG);
const calls: string[][] = readFileSync(LOG, "utf8")
  .trim()
  .split("\n")
  .map((line) => JSON.parse(line));
const kn = calls.filter((c) => c[0] === "kn").map((c) => c.slice(1));
const creates = kn.filter((c) => !c.includes("--help"));

/** `kubectl patch KIND NAME -n NS --type=T -p JSON`, read back. */
const patches = calls
  .filter((c) => c[0] === "kubectl" && c[1] === "patch")
  .map((c) => ({
    kind: c[2],
    name: c[3],
    namespace: c[c.indexOf("-n") + 1],
    type: c.find((a) => a.startsWith("--type="))?.slice("--type=".length),
    patch: JSON.parse(c[c.indexOf("-p") + 1] as string),
  }));

/** What each setting kn has no flag for is, and how the script applies it instead. */
const WITHOUT_A_KN_FLAG: Record<string, string> = {
  "/spec/template/spec/containers/0/name":
    "kn leaves the container unnamed (Knative calls it user-container): a JSON patch names it",
  "/spec/template/spec/containers/0/securityContext":
    "kn's strict context has no readOnlyRootFilesystem: a JSON patch sets the whole context",
  "/spec/template/spec/containers/0/startupProbe":
    "kn has readiness and liveness probe flags only: a JSON patch adds the startup probe",
  "/spec/template/spec/containers/0/volumeMounts":
    "kn's --mount has no projected service-account token: a JSON patch mounts it (Antaeus)",
  "/spec/template/spec/volumes": "the projected token volume itself, by the same JSON patch",
};
const PING_WITHOUT_A_KN_FLAG: Record<string, string> = {
  "spec.contentType": "a merge patch right after the create",
  "spec.timezone":
    "a CRON_TZ= prefix on --schedule: eventing's ping_validation.go reads timezone as that prefix",
  "spec.sink (ref + uri)": "--sink with the URL the ref and uri resolve to",
  // kn-flags.ts lists every flag of `kn source ping create`: none sets a sink's audience.
  "spec.sink.audience": "the same merge patch (the audience Eventing OIDC tokens are minted for)",
};

/**
 * kn sends a probe port it was not given as 0 (podspec_helper.go resolveProbeHandler); Knative
 * treats 0 as unset (queue.go, deploy.go rewriteUserLivenessProbe), as the YAML leaves it.
 */
function withoutZeroProbePorts(ksvc: Manifest): Manifest {
  const out = structuredClone(ksvc);
  for (const container of out.spec.template.spec.containers) {
    for (const probe of ["readinessProbe", "livenessProbe"]) {
      if (container[probe]?.httpGet?.port === 0) delete container[probe].httpGet.port;
    }
  }
  return out;
}

describe("scripts/kn-deploy.sh", () => {
  const shellcheck = spawnSync("shellcheck", ["--version"]).status === 0;
  it.skipIf(!shellcheck && process.env.CI !== "true")(
    shellcheck
      ? "is shellcheck-clean"
      : "is shellcheck-clean: SKIPPED, shellcheck is not installed",
    () => {
      if (!shellcheck) throw new Error("shellcheck is not installed (.ci/run installs it)");
      expect(() => execFileSync("shellcheck", [SCRIPT], { encoding: "utf8" })).not.toThrow();
    },
  );

  it("runs to the end against kn and kubectl", () => {
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
  });

  it("refuses, before creating anything, a kn without --security-context", () => {
    const log = join(work, "old-kn.jsonl");
    const { "security-context": _, ...before } = KN_SERVICE_CREATE.flags;
    const old = runScript(helpFor(before), log);
    expect(old.status).toBe(1);
    expect(old.stderr).toContain("kn 1.11 or newer");
    const made = readFileSync(log, "utf8").trim().split("\n");
    expect(made).toHaveLength(1);
  });

  it("uses only flags kn documents for each command", () => {
    expect(creates.map((c) => c.slice(0, c[0] === "service" ? 3 : 4).join(" "))).toEqual([
      "service create payment",
      "service create antaeus-billing",
      "service create antaeus",
      "source ping create monthly-billing",
      "source ping create billing-watchdog",
    ]);
    for (const call of creates) {
      const command = call[0] === "service" ? KN_SERVICE_CREATE : KN_SOURCE_PING_CREATE;
      expect(() => parseFlags(call.slice(call[0] === "service" ? 2 : 3), command)).not.toThrow();
    }
  });

  it("passes --security-context strict itself: no kn release's default decides", () => {
    for (const call of creates.filter((c) => c[0] === "service")) {
      const { flags } = parseFlags(call.slice(2), KN_SERVICE_CREATE);
      expect(flags).toContainEqual(["security-context", "strict"]);
    }
  });

  // Payment before Antaeus (which calls it), the billing lanes before the API (which starts
  // them); each Service patched before it is waited for, as the revision kn creates lacks what
  // the patch adds; the PingSources last, so no scheduled run starts before Antaeus holds its
  // token.
  it("creates payment, then the billing lanes, then Antaeus, each patched and awaited, then the PingSources", () => {
    const steps = calls
      .map((c) => {
        if (c[0] === "kn" && !c.includes("--help")) return `create ${c[c.indexOf("create") + 1]}`;
        if (c[1] === "patch") return `patch ${c[3]}`;
        if (c[1] === "wait" && c.some((a) => a.startsWith("--for=condition=Ready")))
          return `ready ${c[3]}`;
        return undefined;
      })
      .filter(Boolean);
    expect(steps).toEqual([
      "create payment",
      "patch payment",
      "ready payment",
      "create antaeus-billing",
      "patch antaeus-billing",
      "ready antaeus-billing",
      "create antaeus",
      "patch antaeus",
      "ready antaeus",
      "create monthly-billing",
      "patch monthly-billing",
      "create billing-watchdog",
      "patch billing-watchdog",
    ]);
  });

  it("applies every setting kn has no flag for, each as the list above says", () => {
    const ksvcPaths = patches
      .filter((p) => p.kind === "ksvc")
      .flatMap((p) => {
        expect(p.type).toBe("json");
        return p.patch.map((op: Manifest) => op.path);
      });
    expect(new Set(ksvcPaths)).toEqual(new Set(Object.keys(WITHOUT_A_KN_FLAG)));
    for (const p of patches.filter((p) => p.kind === "pingsource")) {
      expect(p.type).toBe("merge");
      const yaml = find(docs, "PingSource", p.name as string, "antaeus");
      expect(p.patch).toEqual({
        spec: { contentType: "application/json", sink: { audience: yaml.spec.sink.audience } },
      });
    }
    expect(Object.keys(PING_WITHOUT_A_KN_FLAG)).toHaveLength(4);
  });
});

describe.each(KN_RELEASES.map((r) => [r.name, r] as const))("with %s", (_, release) => {
  describe.each(["payment", "antaeus-billing", "antaeus"])("ksvc %s", (name) => {
    const yaml = find(docs, "Service", name);
    const built = () => {
      const create = creates.find((c) => c[0] === "service" && c[2] === name) as string[];
      const ops = patches.find((p) => p.kind === "ksvc" && p.name === name)?.patch;
      return withoutZeroProbePorts(applyJsonPatch(knServiceCreate(create, release), ops));
    };

    // env, limits, scale bounds, timeout, concurrency, visibility, service account, probes,
    // security context, volumes: the whole template, and the Service's own labels.
    it("has the YAML's effective spec once patched", () => {
      const ksvc = built();
      expect(ksvc.metadata).toEqual({
        name,
        namespace: yaml.metadata.namespace,
        labels: yaml.metadata.labels,
      });
      expect(ksvc.spec.template).toEqual(yaml.spec.template);
    });
  });
});

describe.each(["monthly-billing", "billing-watchdog"])("PingSource %s", (name) => {
  const yaml = find(docs, "PingSource", name, "antaeus");
  const created = () => {
    const create = creates.find((c) => c[0] === "source" && c[3] === name) as string[];
    const patch = patches.find((p) => p.kind === "pingsource" && p.name === name)?.patch;
    return applyMergePatch(knPingSourceCreate(create), patch ?? {});
  };

  it("fires on the YAML's schedule in the YAML's timezone", () => {
    expect(created().spec.schedule).toBe(`CRON_TZ=${yaml.spec.timezone} ${yaml.spec.schedule}`);
  });

  it("sends the same data with the same content type", () => {
    const source = created();
    expect(source.metadata.namespace).toBe(yaml.metadata.namespace);
    expect(source.spec.data).toBe(yaml.spec.data);
    expect(source.spec.contentType).toBe(yaml.spec.contentType);
  });

  // A ref + relative uri resolves against the ksvc's address (knative/pkg
  // resolver/addressable_resolver.go URIFromDestinationV1: url.ResolveReference(uri)); a ksvc's
  // cluster-local address is http://NAME.NAMESPACE.svc.cluster.local (knative/pkg
  // network/domain.go GetServiceHostname, with the default cluster domain).
  it("delivers to the URL the YAML's ref and uri resolve to", () => {
    const ref = yaml.spec.sink.ref;
    const address = `http://${ref.name}.${yaml.metadata.namespace}.svc.cluster.local`;
    expect(created().spec.sink).toEqual({
      uri: new URL(yaml.spec.sink.uri, address).href,
      audience: yaml.spec.sink.audience,
    });
  });
});

// The old walkthrough patched .../securityContext/readOnlyRootFilesystem into whatever kn had
// made: under a kn that applies no security context, the parent is missing and kubectl refuses
// the whole patch, token volume included.
it("a patch into a field kn may not create fails whole; the script's patches replace whole fields", () => {
  const bare = knServiceCreate(
    ["service", "create", "x", "--image", "i", "-n", "antaeus"],
    KN_RELEASES[1],
  );
  expect(() =>
    applyJsonPatch(bare, [
      {
        op: "add",
        path: "/spec/template/spec/containers/0/securityContext/readOnlyRootFilesystem",
        value: true,
      },
    ]),
  ).toThrow(/securityContext" does not exist/);
  const ops = patches.find((p) => p.name === "antaeus")?.patch;
  expect(() => applyJsonPatch(bare, ops)).not.toThrow();
});
