import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { scratchDir } from "../support/scratch.js";
import { find, type Manifest } from "./manifests.js";

/**
 * The auth config file as the pod sees it: ANTAEUS_AUTH_CONFIG_FILE must lie under a mounted
 * ConfigMap volume, and its text is that ConfigMap's key. Throws when the mount or key is missing.
 */
export function mountedAuthConfig(docs: Manifest[], env: Record<string, string>): string {
  const ksvc = find(docs, "Service", "antaeus", "antaeus");
  const spec = ksvc.spec.template.spec;
  const path = env.ANTAEUS_AUTH_CONFIG_FILE ?? "";
  const mount = spec.containers[0].volumeMounts.find((m: Manifest) =>
    path.startsWith(`${m.mountPath}/`),
  );
  if (!mount) throw new Error(`no volume mounted above ${path}`);
  const volume = spec.volumes.find((v: Manifest) => v.name === mount.name);
  const configMap = find(docs, "ConfigMap", volume.configMap.name, "antaeus");
  const text = configMap.data[path.slice(mount.mountPath.length + 1)];
  if (typeof text !== "string")
    throw new Error(`${configMap.metadata.name} has no key for ${path}`);
  return text;
}

/** The env with ANTAEUS_AUTH_CONFIG_FILE pointing at a local copy of the mounted file. */
export async function withMountedAuthConfig(
  docs: Manifest[],
  env: Record<string, string>,
): Promise<Record<string, string>> {
  const file = join(scratchDir("antaeus-auth-config"), "auth.json");
  writeFileSync(file, mountedAuthConfig(docs, env));
  return { ...env, ANTAEUS_AUTH_CONFIG_FILE: file };
}
