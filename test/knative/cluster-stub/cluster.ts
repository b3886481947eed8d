// Stand-ins for kubectl, kn, docker, podman and curl, for scripts/deploy.sh's tests: the answer to
// one call, given the name it was called by, its arguments, its working directory and its STUB_*
// environment (stand-in.sh passes each call here, see serve.ts). Each call is logged (STUB_LOG,
// one JSON array a line). They answer from a recorded cluster (STUB_CLUSTER: the objects and
// documents a real cluster serves, test/knative/fixtures/clusters/<name>/) and a state file
// (STUB_STATE) that what is applied goes into, so a second run sees what the first made. kubectl
// kustomize is the real kubectl. A call this does not model exits 99: the test then fails, never
// passes blind.
import { execFileSync } from "node:child_process";
import { appendFileSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseAllDocuments } from "yaml";
import type { Manifest } from "../manifests.js";
import { jsonpath } from "./jsonpath.mjs";

export interface Call {
  /** The name it was called by: kubectl, kn, docker, podman or curl. */
  tool: string;
  args: string[];
  cwd: string;
  /** The caller's STUB_* variables. */
  env: Record<string, string>;
}

export interface Answer {
  code: number;
  stdout: string;
  stderr: string;
}

export interface Tools {
  /** The installed kubectl, for `kustomize`. */
  kubectl: string;
  /** What `kn service create --help` prints. */
  knHelp: string;
}

interface State {
  objects: Manifest[];
  applied: Array<{ how: string; source: string; objects: Manifest[] }>;
  created: Manifest[];
}

/** How a stand-in ends early: its exit code, and what it says on stderr. */
class Exit {
  constructor(
    readonly code: number,
    readonly message = "",
  ) {}
}

/** kubectl's resource names: what `get` takes, and how it prints and reports an object. */
const RESOURCES: Record<string, { apiVersion: string; kind: string; plural: string }> = {
  deployment: { apiVersion: "apps/v1", kind: "Deployment", plural: "deployments.apps" },
  daemonsets: { apiVersion: "apps/v1", kind: "DaemonSet", plural: "daemonsets.apps" },
  configmap: { apiVersion: "v1", kind: "ConfigMap", plural: "configmaps" },
  service: { apiVersion: "v1", kind: "Service", plural: "services" },
  secret: { apiVersion: "v1", kind: "Secret", plural: "secrets" },
  endpointslices: {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    plural: "endpointslices.discovery.k8s.io",
  },
  ksvc: {
    apiVersion: "serving.knative.dev/v1",
    kind: "Service",
    plural: "services.serving.knative.dev",
  },
  pingsource: {
    apiVersion: "sources.knative.dev/v1",
    kind: "PingSource",
    plural: "pingsources.sources.knative.dev",
  },
};

/** `kind.group/name` as kubectl prints an object (`-o name`, apply's lines). */
const nameOf = (object: Manifest) => {
  const group = object.apiVersion.includes("/") ? `.${object.apiVersion.split("/")[0]}` : "";
  return `${object.kind.toLowerCase()}${group}/${object.metadata.name}`;
};
const same = (a: Manifest, b: Manifest) =>
  a.apiVersion === b.apiVersion &&
  a.kind === b.kind &&
  a.metadata.name === b.metadata.name &&
  (a.metadata.namespace ?? "") === (b.metadata.namespace ?? "");

/** Flags as pflag reads them: --name value, --name=value, -n value. */
function flags(list: string[], switches: string[] = []) {
  const found: Record<string, string | undefined> = {};
  const positional: string[] = [];
  for (let i = 0; i < list.length; i++) {
    const arg = list[i] as string;
    if (!arg.startsWith("-")) {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    const name = arg
      .replace(/^--?/, "")
      .slice(0, eq === -1 ? undefined : eq - (arg.startsWith("--") ? 2 : 1));
    if (eq !== -1) found[name] = arg.slice(eq + 1);
    else if (switches.includes(name)) found[name] = "true";
    else found[name] = list[++i];
  }
  return { found, positional };
}

/** Knative's domain: config-domain's first key that is not an example, else example.com. */
function domainOf(state: State) {
  const configMap = state.objects.find(
    (o) => o.kind === "ConfigMap" && o.metadata.name === "config-domain",
  );
  return Object.keys(configMap?.data ?? {}).find((key) => !key.startsWith("_")) ?? "example.com";
}

/**
 * What Knative makes of a Service it is given: a new generation for a new spec, the route's URL
 * (the default domain template, {{.Name}}.{{.Namespace}}.{{.Domain}}; svc.cluster.local when
 * cluster-local) and Ready once the revision is.
 */
function reconcileKsvc(state: State, ksvc: Manifest, previous: Manifest | undefined) {
  const changed = !previous || JSON.stringify(previous.spec) !== JSON.stringify(ksvc.spec);
  const generation = (previous?.metadata.generation ?? 0) + (changed ? 1 : 0);
  const local = ksvc.metadata.labels?.["networking.knative.dev/visibility"] === "cluster-local";
  const { name, namespace } = ksvc.metadata;
  ksvc.metadata.generation = generation;
  ksvc.status = {
    observedGeneration: generation,
    url: `http://${name}.${namespace}.${local ? "svc.cluster.local" : domainOf(state)}`,
    latestReadyRevisionName: `${name}-${String(generation).padStart(5, "0")}`,
    conditions: [{ type: "Ready", status: "True" }],
  };
  return changed;
}

function store(state: State, object: Manifest) {
  const index = state.objects.findIndex((o) => same(o, object));
  const previous = index === -1 ? undefined : state.objects[index];
  let verb = previous ? "unchanged" : "created";
  if (object.apiVersion === "serving.knative.dev/v1" && object.kind === "Service") {
    if (reconcileKsvc(state, object, previous) && previous) verb = "configured";
  } else if (previous && JSON.stringify(previous) !== JSON.stringify(object)) verb = "configured";
  if (index === -1) state.objects.push(object);
  else state.objects[index] = object;
  return verb;
}

/**
 * The real `kubectl kustomize DIR`, remembered for as long as DIR's kustomization reads the same:
 * the profiles it builds on do not change while the tests run.
 */
const kustomized = new Map<string, string>();
export function kustomize(kubectl: string, dir: string): string {
  const key = `${dir}\n${readFileSync(join(dir, "kustomization.yaml"), "utf8")}`;
  let text = kustomized.get(key);
  if (text === undefined) {
    text = execFileSync(kubectl, ["kustomize", dir], { encoding: "utf8" });
    kustomized.set(key, text);
  }
  return text;
}

/** The answer of the stand-in `call.tool` to `call`. */
export function answer(call: Call, tools: Tools): Answer {
  let stdout = "";
  const out = (text: string | Buffer) => {
    stdout += text;
  };
  const { tool, args, env } = call;
  const path = (file: string) => resolve(call.cwd, file);
  const unmodelled = (): never => {
    throw new Exit(99, `${tool} stand-in: no model of: ${args.join(" ")}`);
  };
  const cluster = env.STUB_CLUSTER as string;
  const load = (): State => JSON.parse(readFileSync(env.STUB_STATE as string, "utf8"));
  const save = (state: State) =>
    writeFileSync(env.STUB_STATE as string, JSON.stringify(state, null, 2));

  function kubectl() {
    const [verb, ...rest] = args;
    if (verb === "kustomize") {
      out(kustomize(tools.kubectl, path(rest[0] as string)));
      return;
    }
    if (verb === "get" && rest[0] === "--raw") {
      if (rest[1] !== "/.well-known/openid-configuration") unmodelled();
      out(readFileSync(join(cluster, "openid-configuration.json")));
      return;
    }
    const state = load();
    if (verb === "get") {
      const { found, positional } = flags(rest);
      const [resource, name] = positional;
      const type = RESOURCES[resource as string] ?? unmodelled();
      const namespace = found.n ?? found.namespace ?? "default";
      const [labelKey, labelValue] = (found.l ?? found.selector ?? "").split("=");
      const matches = state.objects.filter(
        (o) =>
          o.apiVersion === type.apiVersion &&
          o.kind === type.kind &&
          (o.metadata.namespace ?? "") === namespace &&
          (name === undefined || o.metadata.name === name) &&
          (!labelKey || o.metadata.labels?.[labelKey] === labelValue),
      );
      if (name !== undefined && matches.length === 0) {
        throw new Exit(1, `Error from server (NotFound): ${type.plural} "${name}" not found`);
      }
      const value =
        name === undefined
          ? { apiVersion: "v1", kind: "List", items: matches, metadata: { resourceVersion: "" } }
          : (matches[0] as Manifest);
      const output = found.o ?? found.output;
      if (output === "name") out(matches.map((o) => `${nameOf(o)}\n`).join(""));
      else if (output?.startsWith("jsonpath="))
        out(jsonpath(output.slice("jsonpath=".length), value));
      else if (output === 'go-template={{range $k, $v := .data}}{{$k}}{{"\\n"}}{{end}}') {
        // Go templates range over a map in key order.
        out(
          Object.keys((value as Manifest).data ?? {})
            .sort()
            .map((k) => `${k}\n`)
            .join(""),
        );
      } else if (output === undefined && (resource === "ksvc" || resource === "pingsource")) {
        // The table, reduced to the columns of the CRDs' printer that say whether it is Ready.
        out(`NAME   READY\n${matches.map((o) => `${o.metadata.name}   True\n`).join("")}`);
      } else unmodelled();
      return;
    }
    if (verb === "apply") {
      const { found } = flags(rest);
      const text = found.k
        ? kustomize(tools.kubectl, path(found.k))
        : found.f
          ? readFileSync(path(found.f), "utf8")
          : unmodelled();
      const objects = parseAllDocuments(text)
        .map((d) => d.toJS() as Manifest | null)
        .filter((o): o is Manifest => Boolean(o));
      state.applied.push({
        how: found.k ? "kustomize" : "file",
        source: (found.k ?? found.f) as string,
        objects,
      });
      for (const object of objects)
        out(`${nameOf(object)} ${store(state, structuredClone(object))}\n`);
      save(state);
      return;
    }
    if (verb === "create" && rest[0] === "secret" && rest[1] === "generic") {
      const { found, positional } = flags(rest.slice(2));
      const [name] = positional;
      const namespace = found.n ?? found.namespace ?? "default";
      const secret: Manifest = {
        apiVersion: "v1",
        kind: "Secret",
        type: "Opaque",
        metadata: { name, namespace },
        data: {},
      };
      if (state.objects.some((o) => same(o, secret))) {
        throw new Exit(1, `error: failed to create secret secrets "${name}" already exists`);
      }
      const from = path(found["from-file"] as string);
      for (const file of readdirSync(from)) {
        secret.data[file] = readFileSync(join(from, file)).toString("base64");
      }
      state.objects.push(secret);
      state.created.push(secret);
      save(state);
      out(`secret/${name} created\n`);
      return;
    }
    if (verb === "wait") {
      const { found, positional } = flags(rest);
      const [resource, name] = positional;
      const ksvc = state.objects.find(
        (o) =>
          o.kind === "Service" &&
          o.apiVersion === RESOURCES[resource as string]?.apiVersion &&
          o.metadata.name === name &&
          o.metadata.namespace === found.n,
      );
      if (!ksvc)
        throw new Exit(
          1,
          `Error from server (NotFound): services.serving.knative.dev "${name}" not found`,
        );
      out(`service.serving.knative.dev/${name} condition met\n`);
      return;
    }
    if (verb === "patch") {
      const { found, positional } = flags(rest);
      const [resource, name] = positional;
      const object =
        state.objects.find(
          (o) =>
            o.metadata.name === name &&
            o.metadata.namespace === found.n &&
            (resource === "ksvc"
              ? o.apiVersion === "serving.knative.dev/v1"
              : o.kind === "PingSource"),
        ) ?? unmodelled();
      if (object.apiVersion === "serving.knative.dev/v1") {
        object.spec.patched = (object.spec.patched ?? 0) + 1;
        reconcileKsvc(state, object, structuredClone({ ...object, spec: {} }));
      }
      save(state);
      out(`${nameOf(object)} patched\n`);
      return;
    }
    if (verb === "rollout" && rest[0] === "status") {
      out("partitioned roll out complete: 1 new pods have been updated...\n");
      return;
    }
    unmodelled();
  }

  function kn() {
    if (args.includes("--help")) {
      out(`${tools.knHelp}\n`);
      return;
    }
    const state = load();
    const { found, positional } = flags(args.slice(2), ["no-wait", "cluster-local", "force"]);
    const [noun, verb] = args;
    const name = positional[noun === "source" ? 1 : 0];
    const namespace = found.n ?? found.namespace;
    if (noun === "service" && verb === "create") {
      const ksvc = {
        apiVersion: "serving.knative.dev/v1",
        kind: "Service",
        metadata: { name, namespace },
        spec: { template: { spec: { containers: [{ image: found.image }] } } },
      };
      store(state, ksvc);
      save(state);
      out(`Service '${name}' created in namespace '${namespace}'.\n`);
      return;
    }
    if (noun === "service" && verb === "update") {
      const ksvc = state.objects.find(
        (o) =>
          o.apiVersion === "serving.knative.dev/v1" &&
          o.metadata.name === name &&
          o.metadata.namespace === namespace,
      );
      if (!ksvc) throw new Exit(1, `Error: services.serving.knative.dev "${name}" not found`);
      const previous = structuredClone(ksvc);
      ksvc.spec.template.spec.containers[0].image = found.image;
      reconcileKsvc(state, ksvc, previous);
      save(state);
      out(
        `Service '${name}' updated to latest revision '${ksvc.status.latestReadyRevisionName}' is available at URL:\n${ksvc.status.url}\n`,
      );
      return;
    }
    if (noun === "source" && verb === "ping") {
      const source = {
        apiVersion: "sources.knative.dev/v1",
        kind: "PingSource",
        metadata: { name: args[3], namespace },
        spec: {},
      };
      store(state, source);
      save(state);
      out(`Ping source '${args[3]}' created in namespace '${namespace}'.\n`);
      return;
    }
    unmodelled();
  }

  function engine() {
    if (args[0] === "version") {
      if (env[`STUB_NO_${tool.toUpperCase()}`]) {
        throw new Exit(1, `Cannot connect to the ${tool} daemon`);
      }
      out(`Client: ${tool} stand-in\n`);
      return;
    }
    if (args[0] === "build" || args[0] === "push") {
      out(`${args[0]} ${args.at(-1) === "." ? args[args.indexOf("-t") + 1] : args.at(-1)}: done\n`);
      return;
    }
    unmodelled();
  }

  /** curl's exit code for the URL's host, from the recording (6: could not resolve, its default). */
  function curl(): never {
    const url = args.at(-1) as string;
    const codes = JSON.parse(readFileSync(join(cluster, "curl.json"), "utf8"));
    throw new Exit(codes[new URL(url).hostname] ?? 6);
  }

  appendFileSync(env.STUB_LOG as string, `${JSON.stringify([tool, ...args])}\n`);
  try {
    if (tool === "kubectl") kubectl();
    else if (tool === "kn") kn();
    else if (tool === "docker" || tool === "podman") engine();
    else if (tool === "curl") curl();
    else unmodelled();
    return { code: 0, stdout, stderr: "" };
  } catch (error) {
    if (error instanceof Exit) {
      return { code: error.code, stdout, stderr: error.message ? `${error.message}\n` : "" };
    }
    // A real kubectl kustomize that failed says why, as it would have said it.
    const failed = error as { status?: number; stderr?: string; message: string };
    return { code: failed.status ?? 1, stdout, stderr: failed.stderr ?? `${failed.message}\n` };
  }
}
