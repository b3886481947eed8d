import type { Manifest } from "./manifests.js";

/**
 * What Knative Serving's revision reconciler makes of a ksvc: the apps/v1 Deployment whose pods
 * run the function. Kubernetes validates that Deployment, not the ksvc, so this is the object a
 * probe without a port or a misnamed port breaks.
 *
 * Source: knative/serving pkg/reconciler/revision/resources/deploy.go (MakeDeployment,
 * BuildPodSpec, BuildUserContainers, makeServingContainer, makeContainer,
 * rewriteUserLivenessProbe) and queue.go (makeQueueContainer, queueSecurityContext), as read
 * in the release-1.13/1.14 file versions (makeServingContainer with rewriteUserLivenessProbe;
 * the queue-proxy's restricted security context). Startup probes, accepted since Knative 1.15
 * (knative/serving#15309), are left to the kubelet on the user container: no rewrite, no port
 * filled in. The constants are pkg/networking/constants.go's.
 *
 * Only what Kubernetes checks or what our rules look at is built; observability env, tracing
 * and the optional volumes (var-log collection, queue-proxy tokens, TLS certs) are left out.
 */
export const USER_PORT_NAME = "user-port"; // v1.UserPortName
const DEFAULT_USER_PORT = 8080; // v1.DefaultUserPort
export const QUEUE_SERVING_PORT = 8012; // networking.BackendHTTPPort
export const QUEUE_H2C_PORT = 8013; // networking.BackendHTTP2Port
const QUEUE_ADMIN_PORT = 8022; // networking.QueueAdminPort
export const AUTOSCALING_METRICS_PORT = 9090; // networking.AutoscalingQueueMetricsPort
export const USER_METRICS_PORT = 9091; // networking.UserQueueMetricsPort
const QUEUE_HTTPS_PORT = 8112; // networking.BackendHTTPSPort

/** The ksvc template's pod spec, as the revision carries it (revision_defaults.go names an unnamed container). */
function revisionSpec(ksvc: Manifest): Manifest {
  const spec = structuredClone(ksvc.spec.template.spec);
  for (const container of spec.containers as Manifest[]) container.name ||= "user-container";
  return spec;
}

/** deploy.go getUserPort: the first container port, else 8080. */
export function userPortOf(ksvc: Manifest): number {
  const port = ksvc.spec.template.spec.containers[0]?.ports?.[0]?.containerPort;
  return typeof port === "number" && port !== 0 ? port : DEFAULT_USER_PORT;
}

/** deploy.go makeContainer + makeServingContainer, for the single (serving) container. */
function servingContainer(container: Manifest, ksvc: Manifest, revisionName: string): Manifest {
  const c = structuredClone(container);
  const userPort = userPortOf(ksvc);
  // Only the one port, renamed: the ksvc's "http1" or "h2c" name does not survive.
  c.ports = [{ name: USER_PORT_NAME, containerPort: userPort }];
  c.env = [
    ...(c.env ?? []),
    { name: "PORT", value: String(userPort) },
    { name: "K_REVISION", value: revisionName },
    { name: "K_CONFIGURATION", value: ksvc.metadata.name },
    { name: "K_SERVICE", value: ksvc.metadata.name },
  ];
  // The drain hook on queue-proxy's admin port (queue.RequestQueueDrainPath).
  c.lifecycle = { preStop: { httpGet: { port: QUEUE_ADMIN_PORT, path: "/wait-for-drain" } } };
  c.stdin = false;
  c.tty = false;
  c.terminationMessagePolicy ||= "FallbackToLogsOnError";
  // HTTP, TCP and gRPC readiness probes move to queue-proxy (below); exec ones stay.
  if (c.readinessProbe?.httpGet || c.readinessProbe?.tcpSocket || c.readinessProbe?.grpc) {
    delete c.readinessProbe;
  }
  // rewriteUserLivenessProbe: only the liveness probe gets the user port filled in.
  if (c.livenessProbe?.httpGet) c.livenessProbe.httpGet.port = userPort;
  if (c.livenessProbe?.tcpSocket) c.livenessProbe.tcpSocket.port = userPort;
  // c.startupProbe: copied as written.
  return c;
}

/** queue.go makeQueueContainer: the sidecar every request and readiness probe goes through. */
function queueContainer(ksvc: Manifest, userContainer: Manifest): Manifest {
  const h2c = userContainer.ports?.[0]?.name === "h2c";
  const servingPort = h2c ? QUEUE_H2C_PORT : QUEUE_SERVING_PORT;
  const queue: Manifest = {
    name: "queue-proxy",
    image: "gcr.io/knative-releases/knative.dev/serving/cmd/queue",
    ports: [
      { name: "http-queueadm", containerPort: QUEUE_ADMIN_PORT },
      { name: "http-autometric", containerPort: AUTOSCALING_METRICS_PORT },
      { name: "http-usermetric", containerPort: USER_METRICS_PORT },
      { name: "queue-port", containerPort: servingPort },
      { name: "https-port", containerPort: QUEUE_HTTPS_PORT },
    ],
    env: [
      { name: "USER_PORT", value: String(userPortOf(ksvc)) },
      { name: "QUEUE_SERVING_PORT", value: String(servingPort) },
    ],
    resources: { requests: { cpu: "25m" } },
    securityContext: {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ["ALL"] },
      seccompProfile: { type: "RuntimeDefault" },
    },
  };
  // The user's readiness probe, settings and period included, pointed at queue-proxy's serving
  // port; queue-proxy then probes the app itself with the original.
  const readiness = userContainer.readinessProbe;
  if (readiness) {
    const { httpGet: _h, tcpSocket: _t, grpc: _g, exec: _e, ...settings } = readiness;
    queue.readinessProbe = {
      ...settings,
      httpGet: { port: servingPort, httpHeaders: [{ name: "K-Network-Probe", value: "queue" }] },
    };
  }
  return queue;
}

/** deploy.go MakeDeployment for a ksvc's first revision. */
export function revisionDeployment(ksvc: Manifest): Manifest {
  const revisionName = `${ksvc.metadata.name}-00001`;
  const spec = revisionSpec(ksvc);
  const {
    containerConcurrency: _cc,
    timeoutSeconds,
    responseStartTimeoutSeconds: _rs,
    idleTimeoutSeconds: _is,
    ...podSpec
  } = spec;
  const [user, ...sidecars] = spec.containers as Manifest[];
  if (!user || sidecars.length > 0) throw new Error("one container per ksvc is all this builds");
  const labels = {
    ...(ksvc.spec.template.metadata?.labels ?? {}),
    "serving.knative.dev/service": ksvc.metadata.name,
    "serving.knative.dev/configuration": ksvc.metadata.name,
    "serving.knative.dev/revision": revisionName,
    "serving.knative.dev/revisionUID": "00000000-0000-0000-0000-000000000001",
    app: revisionName,
  };
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: {
      name: `${revisionName}-deployment`,
      namespace: ksvc.metadata.namespace,
      labels,
    },
    spec: {
      replicas: 1,
      selector: {
        matchLabels: {
          "serving.knative.dev/revisionUID": labels["serving.knative.dev/revisionUID"],
        },
      },
      progressDeadlineSeconds: 600,
      strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0 } },
      template: {
        metadata: { labels },
        spec: {
          ...podSpec,
          containers: [servingContainer(user, ksvc, revisionName), queueContainer(ksvc, user)],
          // BuildPodSpec: a revision's pods get its request timeout as their grace period.
          terminationGracePeriodSeconds: timeoutSeconds,
        },
      },
    },
  };
}
