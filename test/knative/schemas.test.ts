import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Service as KnativeService } from "@kubernetes-models/knative/serving.knative.dev/v1/Service";
import { PingSource } from "@kubernetes-models/knative/sources.knative.dev/v1/PingSource";
import { describe, expect, it } from "vitest";
import {
  filesUnder,
  idOf,
  KNATIVE_DIR,
  kubectlVersion,
  listedFiles,
  loadManifests,
  type Manifest,
  NOTIFICATIONS_DIR,
  ROOT,
  renderWithKubectl,
  renderWithoutKubectl,
} from "./manifests.js";
import { MODELS, type ModelClass } from "./models.js";

const kubectl = kubectlVersion();
const BEFORE_KN_DIR = join(KNATIVE_DIR, "before-kn");
const { docs, renderer } = loadManifests();
// Applied on its own (events.test.ts checks its listing), validated like the rest.
const notifications = (kubectl ? renderWithKubectl : renderWithoutKubectl)(NOTIFICATIONS_DIR);

describe("rendering", () => {
  it.skipIf(!kubectl)(
    kubectl
      ? "kubectl kustomize knative/ renders"
      : "kubectl kustomize knative/ renders: SKIPPED, kubectl is not installed here",
    () => {
      const rendered = renderWithKubectl();
      expect(rendered.length).toBeGreaterThan(0);
    },
  );

  const byId = (list: Manifest[]) =>
    Object.fromEntries(list.map((doc) => [idOf(doc), doc] as const).sort());

  it.skipIf(!kubectl).each([KNATIVE_DIR, BEFORE_KN_DIR, NOTIFICATIONS_DIR])(
    "the fallback renderer agrees with kubectl's on %s, object for object",
    (dir) => {
      expect(byId(renderWithoutKubectl(dir))).toEqual(byId(renderWithKubectl(dir)));
    },
  );

  // The kn path applies this, then creates with kn exactly what it leaves out.
  it(`knative/before-kn/ is everything knative/ deploys but the Knative Services and PingSources (${renderer} renderer)`, () => {
    const render = kubectl ? renderWithKubectl : renderWithoutKubectl;
    const createdByKn = (doc: Manifest) =>
      (doc.apiVersion === "serving.knative.dev/v1" && doc.kind === "Service") ||
      doc.kind === "PingSource";
    const before = render(BEFORE_KN_DIR);
    expect(before.filter(createdByKn)).toEqual([]);
    expect(byId(before)).toEqual(byId(docs.filter((doc) => !createdByKn(doc))));
  });

  it(`renders every object once (${renderer} renderer)`, () => {
    const ids = docs.map(idOf);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.length).toBeGreaterThan(20);
  });
});

describe("schemas", () => {
  it("the installed model packages carry serving.knative.dev/v1 Service and sources.knative.dev/v1 PingSource", () => {
    const version = (name: string) =>
      (
        JSON.parse(readFileSync(join(ROOT, "node_modules", name, "package.json"), "utf8")) as {
          version: string;
        }
      ).version;
    expect(version("kubernetes-models")).toMatch(/^\d+\./);
    expect(version("@kubernetes-models/knative")).toMatch(/^\d+\./);
    expect(KnativeService.apiVersion).toBe("serving.knative.dev/v1");
    expect(KnativeService.kind).toBe("Service");
    expect(PingSource.apiVersion).toBe("sources.knative.dev/v1");
    expect(PingSource.kind).toBe("PingSource");
    // The schemas are real: a wrong type is refused.
    expect(() =>
      new PingSource({ metadata: { name: "x" }, spec: { schedule: 5 } } as never).validate(),
    ).toThrow(/schedule must be string/);
  });

  it.each([...docs, ...notifications].map((doc) => [idOf(doc), doc] as const))(
    "%s validates",
    (_id, doc) => {
      const Model = MODELS[`${doc.apiVersion}/${doc.kind}`];
      expect(Model, `no schema registered for ${doc.apiVersion} ${doc.kind}`).toBeDefined();
      expect(() => new (Model as ModelClass)(doc as never).validate()).not.toThrow();
    },
  );

  // Knative's CRD schema types a ksvc's pod spec loosely. What Kubernetes validates in full is
  // the Deployment Knative builds from it: revision.test.ts derives and validates that.

  // knative/observability and knative/notifications are applied on their own
  // (observability.test.ts and events.test.ts check their listings).
  it("every YAML file in knative/ is part of the kustomization: nothing stray, nothing forgotten", () => {
    const onItsOwn = [join(KNATIVE_DIR, "observability"), NOTIFICATIONS_DIR];
    const onDisk = filesUnder(KNATIVE_DIR, ".yaml").filter(
      (f) => !f.endsWith("kustomization.yaml") && !onItsOwn.some((dir) => f.startsWith(dir)),
    );
    expect(onDisk.sort()).toEqual([...new Set(listedFiles(KNATIVE_DIR))].sort());
  });
});
