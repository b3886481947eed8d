import type { Manifest } from "./manifests.js";

/**
 * The Pod Security Standards "restricted" profile, as Pod Security Admission enforces it on a
 * namespace labelled pod-security.kubernetes.io/enforce: restricted. Source: Kubernetes
 * content/en/docs/concepts/security/pod-security-standards.md (Kubernetes 1.25 and later, the
 * releases where Pod Security Admission is stable): the baseline controls plus Volume Types,
 * Privilege Escalation, Running as Non-root (and non-root user), Seccomp and Capabilities.
 *
 * Returns each violation as a sentence; an empty list means the pod would be admitted.
 */
const RESTRICTED_VOLUME_TYPES = new Set([
  "configMap",
  "csi",
  "downwardAPI",
  "emptyDir",
  "ephemeral",
  "persistentVolumeClaim",
  "projected",
  "secret",
]);

export function restrictedViolations(pod: Manifest): string[] {
  const out: string[] = [];
  const podContext = pod.securityContext ?? {};
  const containers: Manifest[] = [...(pod.initContainers ?? []), ...(pod.containers ?? [])];

  for (const field of ["hostNetwork", "hostPID", "hostIPC"]) {
    if (pod[field] === true) out.push(`${field} must not be true`);
  }
  for (const volume of pod.volumes ?? []) {
    const type = Object.keys(volume).find((k) => k !== "name");
    if (!type || !RESTRICTED_VOLUME_TYPES.has(type)) {
      out.push(`volume ${volume.name} has a type restricted does not allow: ${type}`);
    }
  }
  if (podContext.runAsUser === 0) out.push("pod runAsUser must not be 0");

  for (const c of containers) {
    const sc: Manifest = c.securityContext ?? {};
    const who = `container ${c.name}`;
    if (sc.privileged === true) out.push(`${who} must not be privileged`);
    if (sc.allowPrivilegeEscalation !== false) {
      out.push(`${who} must set allowPrivilegeEscalation: false`);
    }
    const nonRoot = sc.runAsNonRoot ?? podContext.runAsNonRoot;
    if (nonRoot !== true) out.push(`${who} must run with runAsNonRoot: true (pod or container)`);
    if (sc.runAsUser === 0) out.push(`${who} runAsUser must not be 0`);
    const seccomp = sc.seccompProfile?.type ?? podContext.seccompProfile?.type;
    if (seccomp !== "RuntimeDefault" && seccomp !== "Localhost") {
      out.push(`${who} must use seccompProfile RuntimeDefault or Localhost (pod or container)`);
    }
    if (!(sc.capabilities?.drop ?? []).includes("ALL")) {
      out.push(`${who} must drop ALL capabilities`);
    }
    const added = (sc.capabilities?.add ?? []).filter((cap: string) => cap !== "NET_BIND_SERVICE");
    if (added.length > 0) out.push(`${who} may add only NET_BIND_SERVICE, adds ${added}`);
    for (const port of c.ports ?? []) {
      if (port.hostPort) out.push(`${who} must not use hostPort ${port.hostPort}`);
    }
  }
  return out;
}

/** The pod a StatefulSet creates: its volume claim templates become PVC volumes. */
export function statefulSetPod(statefulSet: Manifest): Manifest {
  const pod = structuredClone(statefulSet.spec.template.spec);
  for (const claim of statefulSet.spec.volumeClaimTemplates ?? []) {
    pod.volumes = [
      ...(pod.volumes ?? []),
      { name: claim.metadata.name, persistentVolumeClaim: { claimName: claim.metadata.name } },
    ];
  }
  return pod;
}
