import { describe, expect, it } from "vitest";
import { find, knativeServices, loadManifests, type Manifest } from "./manifests.js";
import { restrictedViolations, statefulSetPod } from "./pod-security.js";
import {
  AUTOSCALING_METRICS_PORT,
  QUEUE_H2C_PORT,
  QUEUE_SERVING_PORT,
  revisionDeployment,
  USER_METRICS_PORT,
} from "./revision.js";

// NetworkPolicies and RBAC: what the manifests promise in docs/production.md.

const { docs } = loadManifests();
const NAMESPACES = ["antaeus", "payment"];
/** A function's /metrics-only port, from its ksvc's env. */
const metricsPortOf = (service: Manifest) =>
  Number(
    service.spec.template.spec.containers[0].env.find((e: Manifest) => e.name === "METRICS_PORT")
      ?.value,
  );
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
    // The function's ksvcs (Antaeus's API and billing lanes; payment) and PostgreSQL.
    expect(pods.length).toBe(namespace === "antaeus" ? 3 : 2);
    for (const pod of pods) expect(restrictedViolations(pod)).toEqual([]);
  });

  it("denies all ingress and egress by default", () => {
    const deny = policies(namespace).find((p) => p.metadata.name === "default-deny");
    expect(deny?.spec).toEqual({ podSelector: {}, policyTypes: ["Ingress", "Egress"] });
  });

  const rules = (direction: "ingress" | "egress") =>
    policies(namespace).flatMap((p) => (p.spec[direction] ?? []) as Manifest[]);
  const namespaceOf = (peer: Manifest) =>
    peer.namespaceSelector?.matchLabels?.["kubernetes.io/metadata.name"];
  const ports = (rule: Manifest) => (rule.ports ?? []).map((p: Manifest) => p.port).sort();

  // Every way in from outside the namespace: Knative's data path to queue-proxy
  // (pkg/networking/constants.go: 8012, 8013, 9090 for the autoscaler), and the monitoring
  // namespace to the metrics alone (the app's port, queue-proxy's 9091).
  it("lets in only Knative (to queue-proxy) and the monitoring namespace (to the metrics)", () => {
    const fromOutside = rules("ingress").filter((rule) =>
      (rule.from ?? [{}]).some((peer: Manifest) => peer.namespaceSelector || !peer.podSelector),
    );
    const byNamespace = new Map<string, number[]>();
    for (const rule of fromOutside) {
      for (const peer of rule.from) byNamespace.set(namespaceOf(peer), ports(rule));
    }
    const service = knativeServices(docs).find((s) => s.metadata.namespace === namespace);
    expect(Object.fromEntries(byNamespace)).toEqual({
      "knative-serving": [QUEUE_SERVING_PORT, QUEUE_H2C_PORT, AUTOSCALING_METRICS_PORT],
      "kourier-system": [QUEUE_SERVING_PORT, QUEUE_H2C_PORT, AUTOSCALING_METRICS_PORT],
      // The function's METRICS_PORT (its env in the ksvc): /metrics alone, without a token; not
      // the API port, where /metrics needs one.
      monitoring: [USER_METRICS_PORT, metricsPortOf(service as Manifest)],
    });
  });

  // Kourier's gateway pods carry app: 3scale-kourier-gateway (net-kourier
  // config/300-gateway.yaml); its own install runs them in kourier-system, the Knative Operator
  // in knative-serving (operator pkg/reconciler/knativeserving/ingress/kourier.go).
  it("sends the function's calls only to Kourier's gateway pods, in either namespace", () => {
    const toGateway = rules("egress").filter((rule) =>
      (rule.to ?? []).some((peer: Manifest) => peer.podSelector?.matchLabels?.app),
    );
    for (const rule of toGateway) {
      expect(ports(rule)).toEqual([8080, 8081]);
      for (const peer of rule.to) {
        expect(peer.podSelector).toEqual({ matchLabels: { app: "3scale-kourier-gateway" } });
      }
    }
    const namespaces = toGateway.flatMap((rule) => rule.to.map(namespaceOf)).sort();
    expect(namespaces).toEqual(
      namespace === "antaeus" ? ["knative-serving", "kourier-system"] : [],
    );
  });

  // The one exception, in the challenge profile only: the API server policy may name any address,
  // on the API server's ports alone (common/network-policies.yaml says why; production narrows it).
  it("sends nothing to the whole internet but, in the challenge profile, the API server's ports", () => {
    for (const rule of rules("egress")) {
      expect(rule.to, JSON.stringify(rule)).toBeDefined();
      const anywhere = rule.to.filter(
        (peer: Manifest) => peer.ipBlock && ["0.0.0.0/0", "::/0"].includes(peer.ipBlock.cidr),
      );
      if (anywhere.length > 0) expect(ports(rule)).toEqual([443, 6443]);
    }
    const wide = policies(namespace).filter((p) =>
      JSON.stringify(p.spec.egress ?? []).includes("0.0.0.0/0"),
    );
    expect(wide.map((p) => p.metadata.name)).toEqual(["function-egress-api-server"]);
  });

  // The Kubernetes documentation's NodeLocal DNSCache setup listens on 169.254.20.10.
  it("resolves names through CoreDNS's pods or NodeLocal DNSCache, on port 53 only", () => {
    const dns = rules("egress").filter((rule) => ports(rule).includes(53));
    expect(dns).toHaveLength(1);
    expect(dns[0]?.to).toEqual([
      {
        namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } },
        podSelector: { matchLabels: { "k8s-app": "kube-dns" } },
      },
      { ipBlock: { cidr: "169.254.20.10/32" } },
    ]);
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

  it("has a deployer Role that can change its own ksvc and PingSources only, bound to its team's group", () => {
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
    expect([...ksvcRule.resourceNames].sort()).toEqual(
      knativeServices(docs)
        .filter((s) => s.metadata.namespace === namespace)
        .map((s) => s.metadata.name)
        .sort(),
    );
    // Every PingSource of the namespace is the team's to change (a schedule, a payload).
    const sources = docs
      .filter((d) => d.kind === "PingSource" && d.metadata.namespace === namespace)
      .map((d) => d.metadata.name)
      .sort();
    const sourceRule = writes.find((r: Manifest) => r.resources.includes("pingsources"));
    expect([...(sourceRule?.resourceNames ?? [])].sort()).toEqual(sources);
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

it("payment reaches the API server by ipBlock, on the API server's ports, and nothing else", () => {
  const egress = policies("payment").flatMap((p) => (p.spec.egress ?? []) as Manifest[]);
  const apiServer = egress.filter(
    (rule) =>
      rule.to.some((peer: Manifest) => peer.ipBlock) &&
      !rule.ports.some((p: Manifest) => p.port === 53),
  );
  expect(apiServer).toHaveLength(1);
  expect(apiServer[0]?.to.every((peer: Manifest) => Object.keys(peer).join() === "ipBlock")).toBe(
    true,
  );
  expect((apiServer[0]?.ports ?? []).map((p: Manifest) => p.port)).toEqual([443, 6443]);
});

it("the monitoring namespace is named in one place, shared by both namespaces", () => {
  const selectors = docs
    .filter(
      (d) => d.kind === "NetworkPolicy" && d.metadata.name === "function-ingress-from-monitoring",
    )
    .map((p) => JSON.stringify(p.spec.ingress[0].from));
  expect(selectors).toHaveLength(2);
  expect(new Set(selectors).size).toBe(1);
});

it("no ClusterRole or cluster-wide binding beyond each function's issuer-key read", () => {
  expect(docs.filter((d) => d.kind === "ClusterRole")).toEqual([]);
  const bindings = docs.filter((d) => d.kind === "ClusterRoleBinding");
  expect(bindings.map((b) => b.roleRef.name)).toEqual([
    "system:service-account-issuer-discovery",
    "system:service-account-issuer-discovery",
  ]);
  expect(
    bindings
      .flatMap((b) => b.subjects)
      .map((s) => `${s.namespace}/${s.name}`)
      .sort(),
  ).toEqual(["antaeus/antaeus", "payment/payment"]);
});

describe("the admission policy over the ksvcs", () => {
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
  it("pins each ksvc's service account (the billing lanes to Antaeus's) and payment's cluster-local label", () => {
    const expressions = policy.spec.validations.map((v: Manifest) => v.expression).join("\n");
    expect(expressions.replace(/\s+/g, " ")).toContain(
      "object.spec.template.spec.serviceAccountName == (object.metadata.name == 'antaeus-billing' ? 'antaeus' : object.metadata.name)",
    );
    expect(expressions).toContain(
      "object.metadata.labels['networking.knative.dev/visibility'] == 'cluster-local'",
    );
  });
});
