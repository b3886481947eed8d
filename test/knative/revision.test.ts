import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { describe, expect, it } from "vitest";
import { knativeServices, loadManifests, type Manifest } from "./manifests.js";
import { restrictedViolations } from "./pod-security.js";
import { revisionDeployment, USER_PORT_NAME, userPortOf } from "./revision.js";

// Each ksvc as Kubernetes will see it: the Deployment Knative's revision reconciler builds
// (./revision.ts says from which source), checked the way the API server and kubelet check it.

const { docs } = loadManifests();
const services = knativeServices(docs);

const validate = (deployment: Manifest) => () => new Deployment(deployment as never).validate();

/**
 * The port a probe reaches: Kubernetes pkg/probe/util.go ResolveContainerPort takes a number as
 * it is and looks a name up among the container's own ports.
 */
function probePort(probe: Manifest, container: Manifest): number | undefined {
  const port = (probe.httpGet ?? probe.tcpSocket)?.port;
  if (typeof port === "number") return port;
  return container.ports?.find((p: Manifest) => p.name === port)?.containerPort;
}

it("the derivation is Knative's, not a copy of the ksvc: a startup probe without a port is refused", () => {
  for (const ksvc of services) {
    const broken = structuredClone(ksvc);
    delete broken.spec.template.spec.containers[0].startupProbe.httpGet.port;
    expect(validate(revisionDeployment(broken))).toThrow(
      /startupProbe\/httpGet must have required property port/,
    );
    // A liveness probe without one is fine: Knative fills it in.
    delete broken.spec.template.spec.containers[0].startupProbe;
    delete broken.spec.template.spec.containers[0].livenessProbe.httpGet.port;
    expect(validate(revisionDeployment(broken))).not.toThrow();
  }
});

describe.each(services.map((s) => [s.metadata.name as string, s] as const))(
  "ksvc %s, as the Deployment Knative builds",
  (_, ksvc) => {
    const deployment = revisionDeployment(ksvc);
    const pod = deployment.spec.template.spec as Manifest;
    const [user, queue] = pod.containers as Manifest[];

    it("validates as an apps/v1 Deployment", () => {
      expect(validate(deployment)).not.toThrow();
    });

    it("has the app and queue-proxy, the app's port renamed user-port and passed as PORT", () => {
      expect(pod.containers.map((c: Manifest) => c.name)).toEqual([
        ksvc.spec.template.spec.containers[0].name,
        "queue-proxy",
      ]);
      expect(user?.ports).toEqual([{ name: USER_PORT_NAME, containerPort: userPortOf(ksvc) }]);
      expect(user?.env).toContainEqual({ name: "PORT", value: String(userPortOf(ksvc)) });
    });

    it("every probe the kubelet runs on the app reaches the port the app listens on", () => {
      const listens = Number(user?.env.find((e: Manifest) => e.name === "PORT").value);
      const probes = ["startupProbe", "livenessProbe", "readinessProbe"].filter((p) => user?.[p]);
      expect(probes).toContain("startupProbe");
      for (const probe of probes) {
        expect(probePort(user?.[probe], user as Manifest), probe).toBe(listens);
      }
    });

    it("readiness is queue-proxy's, at the period the ksvc asks for", () => {
      expect(user).not.toHaveProperty("readinessProbe");
      expect(queue?.readinessProbe.periodSeconds).toBe(
        ksvc.spec.template.spec.containers[0].readinessProbe.periodSeconds,
      );
    });

    it("gives pods the request timeout as their termination grace period", () => {
      expect(pod.terminationGracePeriodSeconds).toBe(ksvc.spec.template.spec.timeoutSeconds);
    });

    it("would be admitted under the restricted Pod Security profile, queue-proxy included", () => {
      expect(restrictedViolations(pod)).toEqual([]);
    });
  },
);
