import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";

/** A rendered Kubernetes object, loosely typed: the tests look at it field by field. */
// biome-ignore lint/suspicious/noExplicitAny: manifests are untyped YAML until validated.
export type Manifest = Record<string, any>;

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const KNATIVE_DIR = join(ROOT, "knative");
/** The example consumer of Antaeus's events, applied on its own. */
export const NOTIFICATIONS_DIR = join(KNATIVE_DIR, "notifications");

/** Whether kubectl is on PATH; when it is not, the tests say so instead of passing. */
export function kubectlVersion(): string | undefined {
  try {
    return execFileSync("kubectl", ["version", "--client", "-o", "json"], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    });
  } catch {
    return undefined;
  }
}

export function parseYaml(text: string, source: string): Manifest[] {
  const docs = parseAllDocuments(text);
  const out: Manifest[] = [];
  for (const doc of docs) {
    if (doc.errors.length > 0) throw new Error(`${source}: ${doc.errors[0]?.message}`);
    const value = doc.toJS() as Manifest | null;
    if (value !== null) out.push(value);
  }
  return out;
}

/** What `kubectl apply -k knative/` would send: kustomize's own rendering. */
export function renderWithKubectl(dir = KNATIVE_DIR): Manifest[] {
  const text = execFileSync("kubectl", ["kustomize", dir], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
  return parseYaml(text, `kubectl kustomize ${dir}`);
}

const CLUSTER_SCOPED = new Set([
  "Namespace",
  "ClusterRole",
  "ClusterRoleBinding",
  "ValidatingAdmissionPolicy",
  "ValidatingAdmissionPolicyBinding",
]);

interface Kustomization {
  resources?: string[];
  namespace?: string;
  images?: Array<{ name: string; newName?: string; newTag?: string }>;
  patches?: Array<{ patch?: string; path?: string; target?: unknown }>;
}

/** Whether a rendered object is the one a patch's apiVersion, kind and metadata name. */
const sameObject = (doc: Manifest, ref: Manifest) =>
  doc.apiVersion === ref.apiVersion &&
  doc.kind === ref.kind &&
  doc.metadata?.name === ref.metadata?.name &&
  (ref.metadata?.namespace === undefined || doc.metadata?.namespace === ref.metadata.namespace);

/**
 * The small part of kustomize these manifests use (resources, namespace, images, and inline
 * patches that delete an object), so the schema and rule tests still run where kubectl is
 * missing. A test compares it with kubectl's rendering wherever kubectl exists, so it cannot
 * drift unnoticed.
 */
export function renderWithoutKubectl(dir = KNATIVE_DIR): Manifest[] {
  const kustomization = parseYaml(
    readFileSync(join(dir, "kustomization.yaml"), "utf8"),
    dir,
  )[0] as Kustomization;
  let docs: Manifest[] = [];
  for (const entry of kustomization.resources ?? []) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) docs.push(...renderWithoutKubectl(path));
    else docs.push(...parseYaml(readFileSync(path, "utf8"), path));
  }
  for (const { patch, path, target } of kustomization.patches ?? []) {
    const [ref] = patch === undefined || path || target ? [] : parseYaml(patch, `${dir} patch`);
    if (ref?.$patch !== "delete") {
      throw new Error(`${dir}: the fallback renderer knows only inline "$patch: delete" patches`);
    }
    docs = docs.filter((doc) => !sameObject(doc, ref));
  }
  for (const doc of docs) {
    if (kustomization.namespace && !CLUSTER_SCOPED.has(doc.kind)) {
      doc.metadata.namespace = kustomization.namespace;
    }
    for (const container of containersOf(doc)) {
      const image = kustomization.images?.find((i) => i.name === container.image);
      if (image) container.image = `${image.newName ?? image.name}:${image.newTag ?? "latest"}`;
    }
  }
  return docs;
}

/** The resource files a kustomization pulls in, following folders. */
export function listedFiles(dir: string): string[] {
  const kustomization = parseYaml(
    readFileSync(join(dir, "kustomization.yaml"), "utf8"),
    dir,
  )[0] as Kustomization;
  return (kustomization.resources ?? []).flatMap((entry) => {
    const path = join(dir, entry);
    return statSync(path).isDirectory() ? listedFiles(path) : [path];
  });
}

/** kubectl's rendering when kubectl is installed, else the fallback above. */
export function loadManifests(): { docs: Manifest[]; renderer: "kubectl" | "fallback" } {
  return kubectlVersion()
    ? { docs: renderWithKubectl(), renderer: "kubectl" }
    : { docs: renderWithoutKubectl(), renderer: "fallback" };
}

function podSpecOf(doc: Manifest): Manifest | undefined {
  if (doc.kind === "Pod") return doc.spec;
  return doc.spec?.template?.spec;
}

export function containersOf(doc: Manifest): Manifest[] {
  const spec = podSpecOf(doc);
  return [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])];
}

export const idOf = (doc: Manifest) =>
  `${doc.apiVersion}/${doc.kind} ${doc.metadata?.namespace ?? "-"}/${doc.metadata?.name}`;

export function find(docs: Manifest[], kind: string, name: string, namespace?: string): Manifest {
  const found = docs.filter(
    (d) =>
      d.kind === kind &&
      d.metadata?.name === name &&
      (namespace === undefined || d.metadata?.namespace === namespace),
  );
  if (found.length !== 1) {
    throw new Error(`expected one ${kind} ${namespace ?? "*"}/${name}, found ${found.length}`);
  }
  return found[0] as Manifest;
}

export const knativeServices = (docs: Manifest[]) =>
  docs.filter((d) => d.apiVersion === "serving.knative.dev/v1" && d.kind === "Service");

/**
 * What the kubelet adds to every container's env whatever the manifest says: the address of the
 * `kubernetes` Service in `default`, even with enableServiceLinks false (kubernetes
 * pkg/kubelet/kubelet_pods.go, getServiceEnvVarMap). kubeadm's default service range puts it at
 * 10.96.0.1:443. In-cluster clients, our issuer discovery among them, find the API server by it.
 */
export const KUBELET_ENV = {
  KUBERNETES_SERVICE_HOST: "10.96.0.1",
  KUBERNETES_SERVICE_PORT: "443",
} as const;

/** A container's env as a map; secretKeyRef values resolved from the rendered Secrets. */
export function resolvedEnv(docs: Manifest[], ksvc: Manifest): Record<string, string> {
  const container = ksvc.spec.template.spec.containers[0];
  const env: Record<string, string> = {};
  for (const entry of container.env ?? []) {
    if (entry.value !== undefined) {
      env[entry.name] = String(entry.value);
    } else if (entry.valueFrom?.secretKeyRef) {
      const ref = entry.valueFrom.secretKeyRef;
      const secret = find(docs, "Secret", ref.name, ksvc.metadata.namespace);
      const value =
        secret.stringData?.[ref.key] ??
        (secret.data?.[ref.key] && Buffer.from(secret.data[ref.key], "base64").toString("utf8"));
      if (value === undefined)
        throw new Error(`${idOf(ksvc)}: secret ${ref.name} has no ${ref.key}`);
      env[entry.name] = value;
    } else {
      throw new Error(`${idOf(ksvc)}: env ${entry.name} has a source the tests do not resolve`);
    }
  }
  return env;
}

/** Every file under a folder, recursively, for grepping the sources. */
export function filesUnder(dir: string, extension: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...filesUnder(path, extension));
    else if (entry.name.endsWith(extension)) out.push(path);
  }
  return out;
}
