import { CronExpressionParser } from "cron-parser";
import { describe, expect, it } from "vitest";
import { containersOf, knativeServices, loadManifests, type Manifest } from "./manifests.js";

// Rules Knative's admission webhook enforces that the OpenAPI schemas do not express, and the
// hardening this project promises. Each would otherwise surface only on a real cluster.

const { docs } = loadManifests();
const services = knativeServices(docs);
const pingSources = docs.filter((d) => d.kind === "PingSource");

/** Knative refuses these: it sets them itself (the runtime contract). */
const RESERVED_ENV = ["PORT", "K_SERVICE", "K_REVISION", "K_CONFIGURATION"];

/** Container fields a ksvc may set (Knative's webhook refuses any other: "must not set"). */
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

it("there are exactly two Knative Services, antaeus and payment, and two PingSources", () => {
  expect(services.map((s) => `${s.metadata.namespace}/${s.metadata.name}`).sort()).toEqual([
    "antaeus/antaeus",
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

    it("has one container with exactly one port, named http1, h2c or unnamed", () => {
      expect(spec.containers).toHaveLength(1);
      expect(container?.ports).toHaveLength(1);
      expect([undefined, "http1", "h2c"]).toContain(container?.ports[0].name);
    });

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

    it("scales from zero to a bound: min-scale 0 <= max-scale", () => {
      const annotations = annotationsOf(ksvc);
      const min = Number(annotations["autoscaling.knative.dev/min-scale"]);
      const max = Number(annotations["autoscaling.knative.dev/max-scale"]);
      expect(min).toBe(0);
      expect(Number.isInteger(max) && max >= 1).toBe(true);
      expect(min).toBeLessThanOrEqual(max);
    });

    it("keeps timeoutSeconds within Knative's 600 s ceiling and sets a container concurrency", () => {
      expect(spec.timeoutSeconds).toBeGreaterThan(0);
      expect(spec.timeoutSeconds).toBeLessThanOrEqual(600);
      expect(spec.containerConcurrency).toBeGreaterThan(1);
    });

    it("probes startup, readiness and liveness over HTTP without naming a port", () => {
      for (const probe of ["startupProbe", "readinessProbe", "livenessProbe"]) {
        expect(container?.[probe]?.httpGet?.path, probe).toMatch(/^\//);
        // Knative wants the probe port unset (or equal to the container port).
        expect(container?.[probe]?.httpGet?.port, probe).toBeUndefined();
      }
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

    it("runs hardened: non-root, read-only root, no privilege escalation, no capabilities, seccomp", () => {
      expect(container?.securityContext).toEqual({
        runAsNonRoot: true,
        readOnlyRootFilesystem: true,
        allowPrivilegeEscalation: false,
        capabilities: { drop: ["ALL"] },
        seccompProfile: { type: "RuntimeDefault" },
      });
    });

    it("runs as its own service account, never default", () => {
      expect(spec.serviceAccountName).toBe(ksvc.metadata.name);
    });

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
    it("has a schedule that parses", () => {
      expect(() =>
        CronExpressionParser.parse(source.spec.schedule, { tz: source.spec.timezone }),
      ).not.toThrow();
    });

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
