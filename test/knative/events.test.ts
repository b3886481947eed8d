import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadAntaeusConfig } from "../../functions/antaeus/config.js";
import { EVENT_TYPES } from "../../functions/antaeus/domain/events.js";
import { loadManifests, type Manifest } from "./manifests.js";

const { docs } = loadManifests();
const find = (kind: string, name: string) =>
  docs.find((d: Manifest) => d.kind === kind && d.metadata?.name === name);

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
    const authFile = join(mkdtempSync(join(tmpdir(), "antaeus-auth-")), "auth.json");
    writeFileSync(authFile, find("ConfigMap", "antaeus-auth")?.data["auth.json"]);
    const injected = {
      ...declared,
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
