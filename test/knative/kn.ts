import { KN_SERVICE_CREATE, KN_SOURCE_PING_CREATE, type KnCommand } from "./kn-flags.js";
import type { Manifest } from "./manifests.js";

/**
 * What kn sends to the API server for the commands scripts/kn-deploy.sh runs, so the kn path can
 * be compared with the YAML path field by field. Sources, all knative/client:
 * - flag parsing: spf13/pflag as kn uses it (--name value, --name=value, -n value; switches take
 *   no value), against the documented flag lists in ./kn-flags.ts;
 * - pod spec flags: pkg/kn/flags/podspec.go and podspec_helper.go (ResolvePodSpec,
 *   UpdateEnvVars, createEnvVarSource, UpdateResources, UpdateContainerPort,
 *   resolveProbeHandler, resolveProbeOptions, UpdateSecurityContext, DefaultStrictSecCon) at
 *   commit 009b2e75, and pkg/flags/podspec.go at commit d993c963 for the later
 *   --security-context behaviour;
 * - service flags: pkg/kn/commands/service/configuration_edit_flags.go (Apply): scale bounds as
 *   the autoscaling.knative.dev/min-scale and max-scale annotations, containerConcurrency,
 *   timeoutSeconds, the cluster-local visibility label, --label on Service and template;
 * - kn source ping create: pkg/kn/commands/source/ping/create.go (schedule, data, a URL sink).
 * A flag this does not know throws: the comparison never passes over a flag it cannot read.
 */

/** kn's --security-context, by release (./SOURCES.md dates both). */
export const KN_RELEASES = [
  {
    name: "kn of knative/client 009b2e75 (kn 1.11 cycle): strict unless told otherwise",
    securityContext: "strict-on-every-create",
  },
  {
    name: "kn of knative/client d993c963 (knative/client#1832 on): none unless told otherwise",
    securityContext: "only-when-given",
  },
] as const;
export type KnRelease = (typeof KN_RELEASES)[number];

export interface Parsed {
  positional: string[];
  flags: Array<[name: string, value: string]>;
}

/** pflag's reading of argv, refusing any flag the command's documentation does not list. */
export function parseFlags(args: string[], command: KnCommand): Parsed {
  const positional: string[] = [];
  const flags: Array<[string, string]> = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    let name: string | undefined;
    let inline: string | undefined;
    if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      name = arg.slice(2, eq === -1 ? undefined : eq);
      inline = eq === -1 ? undefined : arg.slice(eq + 1);
    } else if (arg.startsWith("-") && arg.length > 1) {
      name = command.shorthands[arg.slice(1, 2)];
      if (!name) throw new Error(`kn has no flag ${arg.slice(0, 2)} (${command.source})`);
      const rest = arg.slice(2);
      inline = rest === "" ? undefined : rest.replace(/^=/, "");
    } else {
      positional.push(arg);
      continue;
    }
    const type = command.flags[name];
    if (!type) throw new Error(`kn has no flag --${name} (${command.source})`);
    if (type === "bool") {
      flags.push([name, inline ?? "true"]);
    } else {
      const value = inline ?? args[++i];
      if (value === undefined) throw new Error(`--${name} needs a value`);
      flags.push([name, value]);
    }
  }
  return { positional, flags };
}

/** podspec_helper.go DefaultStrictSecCon. */
const STRICT_SECURITY_CONTEXT = {
  allowPrivilegeEscalation: false,
  runAsNonRoot: true,
  capabilities: { drop: ["ALL"] },
  seccompProfile: { type: "RuntimeDefault" },
};

/** podspec_helper.go resolveProbeHandler ("http:host:port:path") and resolveProbeOptions. */
function probe(existing: Manifest | undefined, handler?: string, opts?: string): Manifest {
  const p: Manifest = { ...(existing ?? {}) };
  if (handler !== undefined) {
    const [scheme, host, port, path, ...extra] = handler.split(":");
    if ((scheme !== "http" && scheme !== "https") || path === undefined || extra.length > 0) {
      throw new Error(`this model reads only http(s):host:port:path probes, got ${handler}`);
    }
    const httpGet: Manifest = { path };
    if (scheme === "https") httpGet.scheme = "HTTPS";
    if (host) httpGet.host = host;
    // An empty port is left at its zero value, which kn sends as "port: 0".
    httpGet.port = port ? (/^\d+$/.test(port) ? Number(port) : port) : 0;
    p.httpGet = httpGet;
  }
  const names: Record<string, string> = {
    initialdelayseconds: "initialDelaySeconds",
    timeoutseconds: "timeoutSeconds",
    periodseconds: "periodSeconds",
    successthreshold: "successThreshold",
    failurethreshold: "failureThreshold",
  };
  for (const pair of opts ? opts.split(",") : []) {
    const [key = "", value = ""] = pair.split("=");
    const field = names[key.trim().toLowerCase()];
    if (!field || !/^\d+$/.test(value.trim())) throw new Error(`bad probe option ${pair}`);
    p[field] = Number(value.trim());
  }
  return p;
}

/** podspec_helper.go createEnvVarSource: NAME=secret:name:key or NAME=config-map:name:key. */
function envValueFrom(spec: string): Manifest {
  const [name, source] = keyValue(spec);
  const [type, refName, ...key] = source.split(":");
  const ref = { name: refName, key: key.join(":") };
  if (!refName || ref.key === "") throw new Error(`--env-value-from ${spec}: type:name:key`);
  if (type === "secret" || type === "sc") return { name, valueFrom: { secretKeyRef: ref } };
  if (type === "config-map" || type === "cm") return { name, valueFrom: { configMapKeyRef: ref } };
  throw new Error(`--env-value-from ${spec}: secret or config-map`);
}

const keyValue = (pair: string): [string, string] => {
  const eq = pair.indexOf("=");
  if (eq < 1) throw new Error(`expected NAME=value, got ${pair}`);
  return [pair.slice(0, eq), pair.slice(eq + 1)];
};

/** The ksvc `kn service create NAME ...` sends. */
export function knServiceCreate(argv: string[], release: KnRelease): Manifest {
  if (argv[0] !== "service" || argv[1] !== "create")
    throw new Error(`not a service create: ${argv}`);
  const { positional, flags } = parseFlags(argv.slice(2), KN_SERVICE_CREATE);
  const container: Manifest = {};
  const template: Manifest = { metadata: {}, spec: { containers: [container] } };
  const ksvc: Manifest = {
    apiVersion: "serving.knative.dev/v1",
    kind: "Service",
    metadata: { name: positional[0] },
    spec: { template },
  };
  const labels = (meta: Manifest, pair: string) => {
    const [key, value] = keyValue(pair);
    meta.labels = { ...(meta.labels ?? {}), [key]: value };
  };
  const annotate = (key: string, value: string) => {
    template.metadata.annotations = { ...(template.metadata.annotations ?? {}), [key]: value };
  };
  const resources = (kind: "requests" | "limits", list: string) => {
    container.resources ??= { requests: {}, limits: {} };
    for (const pair of list.split(",")) {
      const [key, value] = keyValue(pair);
      container.resources[kind][key] = value;
    }
  };
  let securityContextGiven = false;
  for (const [flag, value] of flags) {
    switch (flag) {
      case "namespace":
        ksvc.metadata.namespace = value;
        break;
      case "image":
        container.image = value;
        break;
      case "port": {
        const [name, port] = value.includes(":") ? value.split(":") : ["", value];
        container.ports = [{ containerPort: Number(port), ...(name ? { name } : {}) }];
        break;
      }
      case "env": {
        const [name, v] = keyValue(value);
        container.env = [...(container.env ?? []), { name, value: v }];
        break;
      }
      case "env-value-from":
        container.env = [...(container.env ?? []), envValueFrom(value)];
        break;
      case "request":
        resources("requests", value);
        break;
      case "limit":
        resources("limits", value);
        break;
      case "service-account":
        template.spec.serviceAccountName = value.trim();
        break;
      case "probe-readiness":
        container.readinessProbe = probe(container.readinessProbe, value);
        break;
      case "probe-readiness-opts":
        container.readinessProbe = probe(container.readinessProbe, undefined, value);
        break;
      case "probe-liveness":
        container.livenessProbe = probe(container.livenessProbe, value);
        break;
      case "probe-liveness-opts":
        container.livenessProbe = probe(container.livenessProbe, undefined, value);
        break;
      case "security-context":
        securityContextGiven = true;
        if (value.toLowerCase() === "strict")
          container.securityContext = { ...STRICT_SECURITY_CONTEXT };
        else if (value.toLowerCase() === "none") delete container.securityContext;
        else throw new Error(`--security-context ${value}: strict or none`);
        break;
      case "scale-min":
        annotate("autoscaling.knative.dev/min-scale", String(Number(value)));
        break;
      case "scale-max":
        annotate("autoscaling.knative.dev/max-scale", String(Number(value)));
        break;
      case "concurrency-limit":
        template.spec.containerConcurrency = Number(value);
        break;
      case "timeout":
        template.spec.timeoutSeconds = Number(value);
        break;
      case "cluster-local":
        if (value === "true")
          labels(ksvc.metadata, "networking.knative.dev/visibility=cluster-local");
        break;
      case "label":
        labels(ksvc.metadata, value);
        labels(template.metadata, value);
        break;
      case "label-service":
        labels(ksvc.metadata, value);
        break;
      case "label-revision":
        labels(template.metadata, value);
        break;
      case "no-wait":
      case "wait":
      case "wait-timeout":
        break;
      default:
        throw new Error(`this model does not know what kn does with --${flag}; add it`);
    }
  }
  if (!securityContextGiven && release.securityContext === "strict-on-every-create") {
    container.securityContext ??= { ...STRICT_SECURITY_CONTEXT };
  }
  return ksvc;
}

/** The PingSource `kn source ping create NAME ...` sends; a URL sink becomes sink.uri. */
export function knPingSourceCreate(argv: string[]): Manifest {
  if (argv.slice(0, 3).join(" ") !== "source ping create")
    throw new Error(`not a ping create: ${argv}`);
  const { positional, flags } = parseFlags(argv.slice(3), KN_SOURCE_PING_CREATE);
  const source: Manifest = {
    apiVersion: "sources.knative.dev/v1",
    kind: "PingSource",
    metadata: { name: positional[0] },
    spec: {},
  };
  for (const [flag, value] of flags) {
    if (flag === "namespace") source.metadata.namespace = value;
    else if (flag === "schedule") source.spec.schedule = value;
    else if (flag === "data") source.spec.data = value;
    else if (flag === "sink" && /^https?:\/\//.test(value)) source.spec.sink = { uri: value };
    else throw new Error(`this model does not know what kn does with --${flag} ${value}; add it`);
  }
  return source;
}

/**
 * RFC 6902 "add", as kubectl patch --type=json applies it: the parent of the path must exist
 * (an object member or array element); the member itself is added or replaced.
 */
export function applyJsonPatch(doc: Manifest, ops: Manifest[]): Manifest {
  const out = structuredClone(doc);
  for (const op of ops) {
    if (op.op !== "add") throw new Error(`only "add" is modelled, got ${op.op}`);
    const tokens = (op.path as string)
      .split("/")
      .slice(1)
      .map((t) => t.replaceAll("~1", "/").replaceAll("~0", "~"));
    const last = tokens.pop() as string;
    let parent: Manifest = out;
    for (const token of tokens) {
      const next = parent[Array.isArray(parent) ? Number(token) : token];
      if (next === null || typeof next !== "object") {
        throw new Error(`add ${op.path}: "${token}" does not exist`);
      }
      parent = next;
    }
    if (Array.isArray(parent)) {
      const index = last === "-" ? parent.length : Number(last);
      if (!(index <= parent.length)) throw new Error(`add ${op.path}: index out of range`);
      parent.splice(index, 0, structuredClone(op.value));
    } else {
      parent[last] = structuredClone(op.value);
    }
  }
  return out;
}

/** RFC 7386 JSON merge patch, as kubectl patch --type=merge applies it. */
export function applyMergePatch(doc: Manifest, patch: Manifest): Manifest {
  const out: Manifest = structuredClone(doc);
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else if (typeof value === "object" && !Array.isArray(value)) {
      out[key] = applyMergePatch(
        typeof out[key] === "object" && out[key] !== null && !Array.isArray(out[key])
          ? out[key]
          : {},
        value as Manifest,
      );
    } else out[key] = value;
  }
  return out;
}
