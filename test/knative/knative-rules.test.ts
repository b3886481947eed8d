import { CronExpressionParser } from "cron-parser";
import { describe, expect, it } from "vitest";
import { containersOf, knativeServices, loadManifests, type Manifest } from "./manifests.js";
import { userPortOf } from "./revision.js";

// Rules Knative's admission webhook enforces that the OpenAPI schemas do not express, and the
// hardening this project promises. Each would otherwise surface only on a real cluster.
//
// Where a rule is Knative's, the comment names the knative/serving file it comes from; which
// version of each file was read, and how its release was dated, is in ./SOURCES.md.

const { docs } = loadManifests();
const services = knativeServices(docs);
const pingSources = docs.filter((d) => d.kind === "PingSource");

/** pkg/apis/serving/k8s_validation.go reservedEnvVars: Knative sets these itself. */
const RESERVED_ENV = ["PORT", "K_SERVICE", "K_REVISION", "K_CONFIGURATION"];

/**
 * pkg/apis/serving/fieldmask.go ContainerMask: the container fields a ksvc may set; the webhook answers "must not
 * set" to any other. startupProbe joined the mask in Knative 1.15 (knative/serving#15309).
 */
const KNATIVE_CONTAINER_FIELDS = new Set([
  "name",
  "image",
  "args",
  "command",
  "env",
  "envFrom",
  "imagePullPolicy",
  "ports",
  "resources",
  "securityContext",
  "volumeMounts",
  "workingDir",
  "terminationMessagePath",
  "terminationMessagePolicy",
  "readinessProbe",
  "livenessProbe",
  "startupProbe",
]);

const annotationsOf = (ksvc: Manifest): Record<string, unknown> =>
  ksvc.spec.template.metadata?.annotations ?? {};

it("there are exactly three Knative Services, antaeus, its billing lanes and payment, and two PingSources", () => {
  expect(services.map((s) => `${s.metadata.namespace}/${s.metadata.name}`).sort()).toEqual([
    "antaeus/antaeus",
    "antaeus/antaeus-billing",
    "payment/payment",
  ]);
  expect(pingSources.map((p) => p.metadata.name).sort()).toEqual([
    "billing-watchdog",
    "monthly-billing",
  ]);
});

describe.each(services.map((s) => [s.metadata.name as string, s] as const))(
  "ksvc %s",
  (_, ksvc) => {
    const spec = ksvc.spec.template.spec;
    const [container] = spec.containers as Manifest[];

    // k8s_validation.go validateContainersPorts ("more than one container port is set") and
    // validPortNames (h2c, http1, or none).
    it("has one container with exactly one port, named http1, h2c or unnamed", () => {
      expect(spec.containers).toHaveLength(1);
      expect(container?.ports).toHaveLength(1);
      expect([undefined, "http1", "h2c"]).toContain(container?.ports[0].name);
    });

    // k8s_validation.go validateEnvVar (reserved names); fieldmask.go PodSpecMask drops
    // terminationGracePeriodSeconds, which deploy.go BuildPodSpec sets from timeoutSeconds.
    it("sets no reserved env name and no terminationGracePeriodSeconds", () => {
      const names = (container?.env ?? []).map((e: Manifest) => e.name);
      for (const reserved of RESERVED_ENV) expect(names).not.toContain(reserved);
      expect(new Set(names).size).toBe(names.length);
      expect(spec).not.toHaveProperty("terminationGracePeriodSeconds");
    });

    it("uses only container fields Knative accepts", () => {
      const extra = Object.keys(container ?? {}).filter((k) => !KNATIVE_CONTAINER_FIELDS.has(k));
      expect(extra).toEqual([]);
    });

    // Kubernetes ObjectMeta: labels and annotations are map[string]string; an unquoted 5 is refused.
    it("gives every annotation and label a string value", () => {
      const maps = [
        ksvc.metadata.annotations,
        ksvc.metadata.labels,
        ksvc.spec.template.metadata?.annotations,
        ksvc.spec.template.metadata?.labels,
      ];
      for (const map of maps) {
        for (const [key, value] of Object.entries(map ?? {})) {
          expect(typeof value, `${key} must be a quoted string`).toBe("string");
        }
      }
    });

    // pkg/apis/autoscaling/register.go: autoscaling.knative.dev/min-scale and max-scale.
    it("scales from zero to a bound: min-scale 0 <= max-scale", () => {
      const annotations = annotationsOf(ksvc);
      const min = Number(annotations["autoscaling.knative.dev/min-scale"]);
      const max = Number(annotations["autoscaling.knative.dev/max-scale"]);
      expect(min).toBe(0);
      expect(Number.isInteger(max) && max >= 1).toBe(true);
      expect(min).toBeLessThanOrEqual(max);
    });

    // pkg/apis/config/defaults.go: max-revision-timeout-seconds defaults to 600, and the webhook
    // refuses a larger timeoutSeconds.
    // The billing lanes take one request per pod, so the autoscaler gives each lane a pod
    // (docs/billing.md, "Lanes"); every other ksvc serves many at once.
    it("keeps timeoutSeconds within Knative's 600 s ceiling and sets a container concurrency", () => {
      expect(spec.timeoutSeconds).toBeGreaterThan(0);
      expect(spec.timeoutSeconds).toBeLessThanOrEqual(600);
      if (ksvc.metadata.name === "antaeus-billing") expect(spec.containerConcurrency).toBe(1);
      else expect(spec.containerConcurrency).toBeGreaterThan(1);
    });

    // Readiness and liveness: k8s_validation.go validateProbe accepts a port only if it is the
    // container's (by name), and deploy.go fills it in anyway (liveness: rewriteUserLivenessProbe;
    // readiness: moved to queue-proxy, queue.go). The startup probe is neither rewritten nor
    // filled in (deploy.go; startup probes since 1.15, knative/serving#15309): Kubernetes
    // refuses an httpGet without a port, and the container port is renamed "user-port"
    // (deploy.go buildContainerPorts), so the only port that reaches the app is its number.
    it("probes over HTTP; the startup probe names the app's port by number", () => {
      for (const probe of ["startupProbe", "readinessProbe", "livenessProbe"]) {
        expect(container?.[probe]?.httpGet?.path, probe).toMatch(/^\//);
      }
      expect(container?.startupProbe.httpGet.port).toBe(userPortOf(ksvc));
      for (const probe of ["readinessProbe", "livenessProbe"]) {
        const port = container?.[probe].httpGet.port;
        expect([undefined, userPortOf(ksvc)], probe).toContain(port);
      }
    });

    // queue.go copies the readiness probe's period to queue-proxy's kubelet probe, and
    // pkg/queue/readiness/probe.go probes sub-second only when periodSeconds is 0 — which a
    // startup probe rules out (knative/serving#15309: startup probes turn that optimisation
    // off). Every second of period is a second a cold start may wait for nothing.
    it("polls readiness every second", () => {
      expect(container?.readinessProbe.periodSeconds).toBe(1);
    });

    it("has resource requests and limits", () => {
      expect(container?.resources?.requests).toMatchObject({
        cpu: expect.any(String),
        memory: expect.any(String),
      });
      expect(container?.resources?.limits).toMatchObject({
        cpu: expect.any(String),
        memory: expect.any(String),
      });
    });

    // Our hardening. fieldmask.go SecurityContextMask must let each field through: the version
    // read for ContainerMask still refused allowPrivilegeEscalation; secure-pod-defaults
    // (knative/serving#13398, Knative 1.8), which fills both in itself, relies on their being
    // accepted since.
    it("runs hardened: non-root, read-only root, no privilege escalation, no capabilities, seccomp", () => {
      expect(container?.securityContext).toEqual({
        runAsNonRoot: true,
        readOnlyRootFilesystem: true,
        allowPrivilegeEscalation: false,
        capabilities: { drop: ["ALL"] },
        seccompProfile: { type: "RuntimeDefault" },
      });
    });

    // As knative/platform's admission policy asks: the billing lanes are Antaeus, and wear its
    // account (the one payment trusts).
    it("runs as its own service account, never default (the billing lanes as Antaeus's)", () => {
      const own = ksvc.metadata.name === "antaeus-billing" ? "antaeus" : ksvc.metadata.name;
      expect(spec.serviceAccountName).toBe(own);
    });

    // k8s_validation.go validateVolumeMounts: "volume mount should be readOnly for this type of
    // volume" for anything but emptyDir and persistentVolumeClaim.
    it("mounts every non-emptyDir volume read-only (Knative requires it)", () => {
      for (const mount of container?.volumeMounts ?? []) {
        const volume = (spec.volumes ?? []).find((v: Manifest) => v.name === mount.name);
        expect(volume, `volume ${mount.name}`).toBeDefined();
        if (!volume.emptyDir) expect(mount.readOnly, mount.name).toBe(true);
      }
    });
  },
);

describe("the monthly PingSource", () => {
  const source = pingSources.find((p) => p.metadata.name === "monthly-billing") as Manifest;

  it("fires at 00:00 on the 1st of every month, Copenhagen time", () => {
    expect(source.spec.schedule).toBe("0 0 1 * *");
    expect(source.spec.timezone).toBe("Europe/Copenhagen");
    const next = CronExpressionParser.parse(source.spec.schedule, {
      tz: source.spec.timezone,
      currentDate: new Date("2026-03-15T12:00:00Z"),
    });
    // 1 April 2026 00:00 in Copenhagen is summer time, UTC+2.
    expect(next.next().toISOString()).toBe("2026-03-31T22:00:00.000Z");
    // 1 November 2026 00:00 is winter time again, UTC+1.
    const later = CronExpressionParser.parse(source.spec.schedule, {
      tz: source.spec.timezone,
      currentDate: new Date("2026-10-15T00:00:00Z"),
    });
    expect(later.next().toISOString()).toBe("2026-10-31T23:00:00.000Z");
  });
});

describe("the watchdog PingSource", () => {
  const source = pingSources.find((p) => p.metadata.name === "billing-watchdog") as Manifest;

  it("fires hourly", () => {
    const next = CronExpressionParser.parse(source.spec.schedule, {
      tz: source.spec.timezone,
      currentDate: new Date("2026-03-15T12:20:00Z"),
    });
    expect(next.next().toISOString()).toBe("2026-03-15T13:00:00.000Z");
    expect(next.next().toISOString()).toBe("2026-03-15T14:00:00.000Z");
  });
});

describe.each(pingSources.map((p) => [p.metadata.name as string, p] as const))(
  "PingSource %s",
  (_, source) => {
    // knative/eventing pkg/apis/sources/v1/ping_validation.go parses "CRON_TZ=<timezone> <schedule>"
    // with robfig/cron's standard parser and refuses @every.
    it("has a schedule that parses", () => {
      expect(source.spec.schedule).not.toContain("@every");
      expect(() =>
        CronExpressionParser.parse(source.spec.schedule, { tz: source.spec.timezone }),
      ).not.toThrow();
    });

    // ping_validation.go: with contentType application/json, data must unmarshal into an object.
    it("sends a JSON object as its data", () => {
      expect(source.spec.contentType).toBe("application/json");
      const data = JSON.parse(source.spec.data) as unknown;
      expect(typeof data === "object" && data !== null && !Array.isArray(data)).toBe(true);
    });

    it("targets the antaeus ksvc in its own namespace", () => {
      expect(source.metadata.namespace).toBe("antaeus");
      expect(source.spec.sink.ref).toEqual({
        apiVersion: "serving.knative.dev/v1",
        kind: "Service",
        name: "antaeus",
      });
    });
  },
);

describe("every other workload", () => {
  const workloads = docs.filter((d) => containersOf(d).length > 0 && d.kind !== "Service");

  it.each(workloads.map((w) => [`${w.kind} ${w.metadata.namespace}/${w.metadata.name}`, w]))(
    "%s runs as its own service account, non-root, read-only, without capabilities",
    (_, workload) => {
      const spec = workload.spec.template.spec;
      expect(spec.serviceAccountName).toBeTruthy();
      expect(spec.serviceAccountName).not.toBe("default");
      expect(spec.securityContext?.runAsNonRoot).toBe(true);
      for (const container of containersOf(workload)) {
        expect(container.securityContext).toMatchObject({
          readOnlyRootFilesystem: true,
          allowPrivilegeEscalation: false,
          capabilities: { drop: ["ALL"] },
        });
        expect(container.resources?.limits?.memory).toBeDefined();
      }
    },
  );
});
