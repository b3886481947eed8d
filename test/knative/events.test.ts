import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { describe, expect, it } from "vitest";
import { loadAntaeusConfig } from "../../functions/antaeus/config.js";
import { EVENT_TYPES } from "../../functions/antaeus/domain/events.js";
import { scratchDir } from "../support/scratch.js";
import { backoffScheduleMs, deliveryErrors, FEATURES_BY_DEFAULT } from "./delivery.js";
import {
  filesUnder,
  KNATIVE_DIR,
  KUBELET_ENV,
  knativeServices,
  kubectlVersion,
  listedFiles,
  loadManifests,
  type Manifest,
  NOTIFICATIONS_DIR,
  renderWithKubectl,
  renderWithoutKubectl,
} from "./manifests.js";
import { restrictedViolations } from "./pod-security.js";
import { revisionDeployment } from "./revision.js";

const { docs } = loadManifests();
const find = (kind: string, name: string) =>
  docs.find((d: Manifest) => d.kind === kind && d.metadata?.name === name);
const notifications = (kubectlVersion() ? renderWithKubectl : renderWithoutKubectl)(
  NOTIFICATIONS_DIR,
);

describe("Antaeus's events on Knative", () => {
  const broker = find("Broker", "billing");
  const binding = find("SinkBinding", "antaeus-events");
  const trigger = find("Trigger", "payment-failed");

  // Both write events: the API's requests deliver the outbox, and the lanes write most of it.
  it.each([
    ["antaeus-events", "antaeus"],
    ["antaeus-billing-events", "antaeus-billing"],
  ])("binds with %s the %s ksvc to the Broker shipped beside it", (name, ksvc) => {
    const binding = find("SinkBinding", name);
    expect(find("Service", ksvc)?.apiVersion).toBe("serving.knative.dev/v1");
    expect(broker?.metadata.namespace).toBe("antaeus");
    expect(binding?.metadata.namespace).toBe("antaeus");
    expect(binding?.spec.subject).toEqual({
      apiVersion: "serving.knative.dev/v1",
      kind: "Service",
      name: ksvc,
    });
    expect(binding?.spec.sink.ref).toEqual({
      apiVersion: "eventing.knative.dev/v1",
      kind: "Broker",
      name: "billing",
    });
  });

  it("routes exactly the payment-failed type Antaeus publishes to the notifier", () => {
    expect(trigger?.spec.broker).toBe("billing");
    expect(trigger?.spec.filter).toEqual({ attributes: { type: EVENT_TYPES.paymentFailed } });
    expect(trigger?.spec.subscriber.ref).toMatchObject({
      kind: "Service",
      name: "payment-failed-notifier",
      namespace: "billing-notifications",
    });
  });

  // What the SinkBinding does to the ksvc (knative/eventing pkg/apis/sources/v1/
  // sinkbinding_lifecycle.go, Do; docs/notes cite @03fdb33b4a679bffe2dd4a2759f4479c6eeb0a84):
  // every container gets K_SINK, the Broker's address, and K_CE_OVERRIDES, the JSON of
  // spec.ceOverrides or "" when there are none. The Broker's address (mt-channel-broker) is
  // http://broker-ingress.knative-eventing.svc.cluster.local/<namespace>/<broker>.
  it("starts with the environment the SinkBinding injects, and sends to the Broker", () => {
    // The ksvc's own plain env (its auth and token files among them), then what is bound in.
    const container = find("Service", "antaeus")?.spec.template.spec.containers[0] as {
      env?: Array<{ name: string; value?: string }>;
    };
    const declared = Object.fromEntries(
      (container.env ?? []).flatMap((e) => (e.value === undefined ? [] : [[e.name, e.value]])),
    );
    // The auth config the ksvc mounts from its ConfigMap, at a path of our own.
    const authFile = join(scratchDir("antaeus-auth"), "auth.json");
    writeFileSync(authFile, find("ConfigMap", "antaeus-auth")?.data["auth.json"]);
    const injected = {
      ...declared,
      ...KUBELET_ENV,
      ANTAEUS_AUTH_CONFIG_FILE: authFile,
      NODE_ENV: "production",
      DATABASE_URL: "postgres://antaeus@db/antaeus",
      PAYMENT_PROVIDER_ENDPOINT: "http://payment.payment.svc.cluster.local/v1/charges",
      BILLING_LANE_URL: "http://antaeus-billing.antaeus.svc.cluster.local",
      K_SINK: `http://broker-ingress.knative-eventing.svc.cluster.local/${broker?.metadata.namespace}/${broker?.metadata.name}`,
      K_CE_OVERRIDES: binding?.spec.ceOverrides ? JSON.stringify(binding.spec.ceOverrides) : "",
    };
    const config = loadAntaeusConfig(injected);
    expect(config.events).toEqual({
      sink: "http://broker-ingress.knative-eventing.svc.cluster.local/antaeus/billing",
      extensions: {},
      source: "http://antaeus-billing.antaeus.svc.cluster.local",
    });
    expect(
      loadAntaeusConfig({ ...injected, K_CE_OVERRIDES: '{"extensions":{"team":"billing"}}' }).events
        .extensions,
    ).toEqual({ team: "billing" });
  });

  it("lets both Antaeus ksvcs' pods reach the Broker's ingress pods, and only on their port", () => {
    const policy = find("NetworkPolicy", "antaeus-egress-broker-ingress");
    // knative/eventing config/brokers/mt-channel-broker/deployments/broker-ingress.yaml
    // @036711d11ccea580f4b5e370e76e11803e8138b5: pods labelled eventing.knative.dev/brokerRole:
    // ingress in knative-eventing, containerPort 8080 behind the Service's port 80.
    expect(policy?.spec.podSelector.matchExpressions).toEqual([
      {
        key: "serving.knative.dev/service",
        operator: "In",
        values: ["antaeus", "antaeus-billing"],
      },
    ]);
    expect(policy?.spec.egress).toEqual([
      {
        to: [
          {
            namespaceSelector: {
              matchLabels: { "kubernetes.io/metadata.name": "knative-eventing" },
            },
            podSelector: { matchLabels: { "eventing.knative.dev/brokerRole": "ingress" } },
          },
        ],
        ports: [{ port: 8080 }],
      },
    ]);
  });
});

describe("the example consumer, knative/notifications/", () => {
  const trigger = find("Trigger", "payment-failed");
  const consumers = knativeServices(notifications);
  const shipped = (ref: Manifest) =>
    consumers.find(
      (ksvc) =>
        ref.apiVersion === ksvc.apiVersion &&
        ref.kind === ksvc.kind &&
        ref.name === ksvc.metadata.name &&
        ref.namespace === ksvc.metadata.namespace,
    );

  it("is a kustomization of its own, outside `kubectl apply -k knative/`: a namespace and two ksvcs", () => {
    expect(listedFiles(KNATIVE_DIR).some((file) => file.startsWith(NOTIFICATIONS_DIR))).toBe(false);
    const onDisk = filesUnder(NOTIFICATIONS_DIR, ".yaml").filter(
      (file) => !file.endsWith("kustomization.yaml"),
    );
    expect(onDisk.sort()).toEqual(listedFiles(NOTIFICATIONS_DIR).sort());
    expect(notifications.map((doc) => `${doc.kind} ${doc.metadata.name}`).sort()).toEqual([
      "Namespace billing-notifications",
      "Service payment-failed-dead-letters",
      "Service payment-failed-notifier",
    ]);
  });

  it("receives the Trigger's events, and its dead letters in a ksvc of their own, both cluster-local", () => {
    const subscriber = trigger?.spec.subscriber.ref;
    const deadLetters = trigger?.spec.delivery.deadLetterSink.ref;
    expect(shipped(subscriber)?.metadata.name).toBe("payment-failed-notifier");
    expect(shipped(deadLetters)?.metadata.name).toBe("payment-failed-dead-letters");
    for (const ksvc of consumers) {
      // knative/serving pkg/apis/serving/register.go: networking.knative.dev/visibility.
      expect(ksvc.metadata.labels["networking.knative.dev/visibility"]).toBe("cluster-local");
    }
  });

  it("runs as Kubernetes will see it: the Deployment Knative derives validates and passes the restricted profile", () => {
    const namespace = notifications.find((doc) => doc.kind === "Namespace");
    expect(namespace?.metadata.labels["pod-security.kubernetes.io/enforce"]).toBe("restricted");
    for (const ksvc of consumers) {
      const deployment = revisionDeployment(ksvc);
      expect(() => new Deployment(deployment as never).validate()).not.toThrow();
      expect(restrictedViolations(deployment.spec.template.spec)).toEqual([]);
    }
  });
});

describe("the Trigger's delivery, as Knative Eventing validates and dispatches it", () => {
  const delivery = find("Trigger", "payment-failed")?.spec.delivery as Manifest;

  it("passes Eventing's validation with retries, a backoff and a dead-letter sink", () => {
    expect(deliveryErrors(delivery)).toEqual([]);
    expect(delivery).toMatchObject({ retry: 5, backoffPolicy: "exponential" });
    expect(delivery.deadLetterSink.ref).toBeDefined();
  });

  it("retries for about a minute before the dead-letter sink: a notifier that restarts misses nothing", () => {
    const waits = backoffScheduleMs(delivery);
    expect(waits).toEqual([2_000, 4_000, 8_000, 16_000, 32_000]);
    const total = waits.reduce((sum, ms) => sum + ms, 0);
    expect(total).toBeGreaterThanOrEqual(30_000);
    expect(total).toBeLessThanOrEqual(600_000);
  });

  it("would be refused where Eventing refuses a delivery spec", () => {
    const refused = (change: Manifest, features = FEATURES_BY_DEFAULT) =>
      deliveryErrors({ ...delivery, ...change }, features);
    expect(refused({ retry: -1 })).toEqual(["invalid value: -1: retry"]);
    expect(refused({ backoffPolicy: "fibonacci" })).toEqual([
      "invalid value: fibonacci: backoffPolicy",
    ]);
    expect(refused({ backoffDelay: "1s" })).toEqual(["invalid value: 1s: backoffDelay"]);
    expect(refused({ timeout: "PT0S" })).toEqual(["invalid value: PT0S: timeout"]);
    expect(
      refused({ timeout: "PT10S" }, { ...FEATURES_BY_DEFAULT, deliveryTimeout: false }),
    ).toEqual(["must not set the field(s): timeout"]);
    expect(refused({ retryAfterMax: "PT30S" })).toEqual([
      "must not set the field(s): retryAfterMax",
    ]);
    expect(refused({ format: "structured" })).toEqual(["invalid value: structured: format"]);
    expect(refused({ deadLetterSink: {} })).toEqual([
      "expected at least one, got none: deadLetterSink.ref, deadLetterSink.uri",
    ]);
    expect(refused({ deadLetterSink: { ref: { name: "x", apiVersion: "v1" } } })).toEqual([
      "missing field(s): deadLetterSink.ref.kind",
    ]);
    expect(refused({ deadLetterSink: { uri: "/dead-letters" } })).toHaveLength(1);
  });
});
