import { describe, expect, it } from "vitest";
import { find, knativeServices, loadManifests, type Manifest } from "./manifests.js";
import { restrictedViolations, statefulSetPod } from "./pod-security.js";
import { revisionDeployment } from "./revision.js";

// NetworkPolicies and RBAC: what the manifests promise in docs/production.md.

const { docs } = loadManifests();
const NAMESPACES = ["antaeus", "payment"];
const policies = (namespace: string) =>
  docs.filter((d) => d.kind === "NetworkPolicy" && d.metadata.namespace === namespace);

describe.each(NAMESPACES)("namespace %s", (namespace) => {
  it("exists and enforces the restricted pod security profile", () => {
    const ns = find(docs, "Namespace", namespace);
    expect(ns.metadata.labels["pod-security.kubernetes.io/enforce"]).toBe("restricted");
  });

  // The pods admission sees: Knative's Deployment for the ksvc (queue-proxy included) and the
  // StatefulSet's pods, claim templates as volumes.
  it("runs only pods the restricted profile admits", () => {
    const pods = [
      ...knativeServices(docs)
        .filter((s) => s.metadata.namespace === namespace)
        .map((s) => revisionDeployment(s).spec.template.spec),
      ...docs
        .filter((d) => d.kind === "StatefulSet" && d.metadata.namespace === namespace)
        .map(statefulSetPod),
    ];
    expect(pods.length).toBe(2);
    for (const pod of pods) expect(restrictedViolations(pod)).toEqual([]);
  });

  it("denies all ingress and egress by default", () => {
    const deny = policies(namespace).find((p) => p.metadata.name === "default-deny");
    expect(deny?.spec).toEqual({ podSelector: {}, policyTypes: ["Ingress", "Egress"] });
  });

  it("lets traffic into the function only from Knative's activator and gateway namespaces", () => {
    const ingress = policies(namespace).flatMap((p) =>
      (p.spec.ingress ?? []).map((rule: Manifest) => ({ policy: p, rule })),
    );
    const fromOutside = ingress.filter(({ rule }) =>
      (rule.from ?? [{}]).some((peer: Manifest) => peer.namespaceSelector || !peer.podSelector),
    );
    const sources = fromOutside.flatMap(({ rule }) =>
      rule.from.map(
        (peer: Manifest) => peer.namespaceSelector?.matchLabels?.["kubernetes.io/metadata.name"],
      ),
    );
    expect(new Set(sources)).toEqual(new Set(["knative-serving", "kourier-system"]));
  });

  it("lets only the function reach PostgreSQL, from inside the namespace", () => {
    const policy = policies(namespace).find(
      (p) => p.spec.podSelector.matchLabels?.["app.kubernetes.io/name"] === "postgres",
    );
    expect(policy?.spec.ingress).toEqual([
      {
        from: [
          {
            podSelector: {
              matchExpressions: [{ key: "serving.knative.dev/service", operator: "Exists" }],
            },
          },
        ],
        ports: [{ port: 5432 }],
      },
    ]);
  });

  it("has a deployer Role that can change its own ksvc only, bound to its team's group", () => {
    const role = find(docs, "Role", `${namespace}-deployer`, namespace);
    const writes = role.rules.filter((r: Manifest) =>
      r.verbs.some((v: string) => !["get", "list", "watch"].includes(v)),
    );
    for (const rule of writes) {
      // Named objects only, and never create/delete: resourceNames cannot narrow create.
      expect(rule.resourceNames?.length, JSON.stringify(rule)).toBeGreaterThan(0);
      expect(rule.verbs).not.toContain("create");
      expect(rule.verbs).not.toContain("delete");
      expect(rule.verbs).not.toContain("*");
    }
    const ksvcRule = writes.find((r: Manifest) => r.resources.includes("services"));
    expect(ksvcRule.resourceNames).toEqual([namespace]);
    for (const rule of role.rules) {
      expect(rule.resources).not.toContain("secrets");
      expect(rule.resources).not.toContain("pods/exec");
    }
    const binding = find(docs, "RoleBinding", `${namespace}-deployer`, namespace);
    expect(binding.roleRef).toMatchObject({ kind: "Role", name: role.metadata.name });
    expect(binding.subjects).toEqual([
      { apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: `${namespace}-developers` },
    ]);
  });
});

it("the restricted check refuses what the profile refuses", () => {
  const pod = statefulSetPod(find(docs, "StatefulSet", "postgres", "antaeus"));
  expect(restrictedViolations(pod)).toEqual([]);
  const loose = structuredClone(pod);
  delete loose.securityContext.seccompProfile;
  loose.containers[0].securityContext.allowPrivilegeEscalation = true;
  loose.volumes.push({ name: "host", hostPath: { path: "/" } });
  expect(restrictedViolations(loose)).toHaveLength(3);
});

it("no ClusterRole or cluster-wide binding beyond payment's issuer-key read", () => {
  expect(docs.filter((d) => d.kind === "ClusterRole")).toEqual([]);
  const bindings = docs.filter((d) => d.kind === "ClusterRoleBinding");
  expect(bindings.map((b) => b.roleRef.name)).toEqual(["system:service-account-issuer-discovery"]);
});

describe("the admission policy over both ksvcs", () => {
  const policy = find(docs, "ValidatingAdmissionPolicy", "billing-functions");
  const binding = find(docs, "ValidatingAdmissionPolicyBinding", "billing-functions");

  it("applies to Knative Services in both namespaces, and denies", () => {
    expect(binding.spec).toEqual({ policyName: "billing-functions", validationActions: ["Deny"] });
    expect(policy.spec.failurePolicy).toBe("Fail");
    expect(policy.spec.matchConstraints.resourceRules).toEqual([
      {
        apiGroups: ["serving.knative.dev"],
        apiVersions: ["v1"],
        operations: ["CREATE", "UPDATE"],
        resources: ["services"],
      },
    ]);
    expect(policy.spec.matchConstraints.namespaceSelector.matchExpressions[0].values).toEqual(
      NAMESPACES,
    );
  });

  // No CEL evaluator is installed here, so the expressions are read for what they name; the
  // shipped ksvcs must of course pass them (checked field by field in the other files).
  it("pins each ksvc's service account and payment's cluster-local label", () => {
    const expressions = policy.spec.validations.map((v: Manifest) => v.expression).join("\n");
    expect(expressions).toContain(
      "object.spec.template.spec.serviceAccountName == object.metadata.name",
    );
    expect(expressions).toContain(
      "object.metadata.labels['networking.knative.dev/visibility'] == 'cluster-local'",
    );
  });
});
