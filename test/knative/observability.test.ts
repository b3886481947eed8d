import { readFileSync } from "node:fs";
import { join } from "node:path";
import { PodMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PodMonitor";
import { parser } from "@prometheus-io/lezer-promql";
import { Ajv } from "ajv";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pingDelivery } from "../support/cloudevents.js";
import { pay, type System, startSystem, waitForRun } from "../support/system.js";
import {
  filesUnder,
  KNATIVE_DIR,
  kubectlVersion,
  listedFiles,
  loadManifests,
  type Manifest,
  parseYaml,
  ROOT,
  renderWithKubectl,
  resolvedEnv,
} from "./manifests.js";

const OBSERVABILITY_DIR = join(KNATIVE_DIR, "observability");
const read = (file: string) => readFileSync(join(OBSERVABILITY_DIR, file), "utf8");

interface Panel {
  type: string;
  title: string;
  targets?: Array<{ expr: string }>;
  panels?: Panel[];
}
const dashboard = JSON.parse(read("antaeus-dashboard.json")) as {
  uid: string;
  title: string;
  schemaVersion: number;
  panels: Panel[];
};
/** A Prometheus relabel rule as a PodMonitor writes it (action replace, the default). */
interface Relabeling {
  sourceLabels: string[];
  regex: string;
  targetLabel: string;
  replacement: string;
}

/**
 * What Prometheus does with "replace" rules (prometheus/model/relabel/relabel.go): the source
 * labels joined with ";", matched by the regex anchored at both ends; on a match the target
 * label becomes the replacement with $1… filled in; no match leaves the labels as they were.
 */
function relabel(rules: Relabeling[], labels: Record<string, string>): Record<string, string> {
  const out = { ...labels };
  for (const rule of rules) {
    const value = rule.sourceLabels.map((name) => out[name] ?? "").join(";");
    const match = new RegExp(`^(?:${rule.regex})$`).exec(value);
    if (match)
      out[rule.targetLabel] = rule.replacement.replace(/\$(\d)/g, (_, n) => match[Number(n)] ?? "");
  }
  return out;
}

const [podMonitor] = parseYaml(read("pod-monitor.yaml"), "pod-monitor.yaml") as [Manifest];
const [rule] = parseYaml(read("prometheus-rule.yaml"), "prometheus-rule.yaml") as [Manifest];
type Rule = { alert?: string; record?: string; expr: string; for?: string };
const rules = (rule.spec.groups as Array<{ rules: Rule[] }>).flatMap((group) => group.rules);

/** Every PromQL expression we ship: each dashboard target and each rule, with where it is. */
const expressions: Array<[where: string, expr: string]> = [
  ...dashboard.panels.flatMap((panel) =>
    (panel.targets ?? []).map((t) => [`panel "${panel.title}"`, t.expr] as [string, string]),
  ),
  ...rules.map((r) => [`rule ${r.alert ?? r.record}`, r.expr] as [string, string]),
];

/** The metric names an expression selects, and its syntax errors (lezer marks them ⚠). */
function metricNamesIn(expr: string): { names: string[]; errors: number } {
  const names: string[] = [];
  let errors = 0;
  parser.parse(expr).iterate({
    enter(node) {
      if (node.type.isError) errors++;
      if (node.name === "VectorSelector") {
        const identifier = node.node.getChild("Identifier");
        if (identifier) names.push(expr.slice(identifier.from, identifier.to));
      }
    },
  });
  return { names, errors };
}

interface Selector {
  name: string;
  matchers: Array<{ label: string; op: string; value: string }>;
}

/** Each metric selector of an expression with its label matchers (`route="/v1/charges"`). */
function selectorsIn(expr: string): Selector[] {
  const selectors: Selector[] = [];
  const text = (node: { from: number; to: number } | null) =>
    node ? expr.slice(node.from, node.to) : "";
  parser.parse(expr).iterate({
    enter(node) {
      if (node.name !== "VectorSelector") return;
      const selector: Selector = { name: text(node.node.getChild("Identifier")), matchers: [] };
      const matchers = node.node.getChild("LabelMatchers");
      for (const matcher of matchers?.getChildren("UnquotedLabelMatcher") ?? []) {
        selector.matchers.push({
          label: text(matcher.getChild("LabelName")),
          op: text(matcher.getChild("MatchOp")),
          value: JSON.parse(text(matcher.getChild("StringLiteral"))) as string,
        });
      }
      selectors.push(selector);
    },
  });
  return selectors;
}

/** The labels an expression aggregates by (`sum by (namespace, le)`). */
function groupingLabelsIn(expr: string): string[] {
  const labels: string[] = [];
  parser.parse(expr).iterate({
    enter(node) {
      if (node.name !== "GroupingLabels") return;
      for (const label of node.node.getChildren("LabelName")) {
        labels.push(expr.slice(label.from, label.to));
      }
    },
  });
  return labels;
}

/** Labels Prometheus adds to every series of a PodMonitor's target, not the app's own. */
const TARGET_LABELS = new Set(["namespace", "pod", "container", "job", "instance", "endpoint"]);

/** Each series of an exposition: its name and labels. */
const exposedSeries = (text: string): Array<{ name: string; labels: Record<string, string> }> =>
  text
    .split("\n")
    .filter((line) => line !== "" && !line.startsWith("#"))
    .map((line) => ({
      name: /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)?.[0] ?? line,
      labels: Object.fromEntries(
        [...(/\{(.*)\}/.exec(line)?.[1] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [
          m[1],
          m[2],
        ]),
      ),
    }));

/**
 * Knative queue-proxy's request metrics in Prometheus (on http-usermetric, 9091), by the Serving
 * releases that name them so (sources in ./SOURCES.md, "Monitoring"). Histograms are exported as
 * _bucket, _sum and _count.
 * - 1.15 to 1.18 (OpenCensus): knative/docs `docs/serving/services/service-metrics.md` @389810a3
 *   ("Queue proxy metrics") and knative/serving `pkg/queue/request_metric.go`, the OpenCensus
 *   version with `RouteTagKey`: labelled by revision, service and response code.
 * - 1.19 and 1.20 (OpenTelemetry): knative/serving `pkg/queue/request_metric.go`, the
 *   OpenTelemetry version (instruments `kn.queueproxy.app.duration`, unit s, attribute
 *   `http.response.status_code`, and `kn.queueproxy.depth`, unit {item}), exported by knative/pkg
 *   `observability/metrics/prometheus_enabled.go` @124454d3 with otlptranslator's
 *   UnderscoreEscapingWithSuffixes: dots become underscores, the unit "s" the suffix _seconds, a
 *   {…} unit nothing. Service and namespace are resource attributes there, in `target_info`, not
 *   labels: the PodMonitor's `namespace` tells the functions apart.
 * - 1.21 and later: the same instruments renamed `kn.serving.invocation.duration` and
 *   `kn.serving.queue.depth` (knative/serving#16290; knative/docs, the v1.21 release notes and
 *   `docs/serving/observability/metrics/serving-metrics.md`).
 */
const QUEUE_PROXY: Array<{ releases: string; metrics: string[]; labels: string[] }> = [
  {
    releases: "Serving 1.15-1.18",
    metrics: [
      "revision_request_count",
      ...histogram("revision_request_latencies"),
      "revision_app_request_count",
      ...histogram("revision_app_request_latencies"),
      "revision_queue_depth",
    ],
    labels: [
      "namespace_name",
      "service_name",
      "configuration_name",
      "revision_name",
      "pod_name",
      "container_name",
      "response_code",
      "response_code_class",
    ],
  },
  {
    releases: "Serving 1.19-1.20",
    metrics: [...histogram("kn_queueproxy_app_duration_seconds"), "kn_queueproxy_depth"],
    labels: ["http_response_status_code"],
  },
  {
    releases: "Serving 1.21+",
    metrics: [...histogram("kn_serving_invocation_duration_seconds"), "kn_serving_queue_depth"],
    labels: ["http_response_status_code"],
  },
];
const QUEUE_PROXY_METRICS = QUEUE_PROXY.flatMap((release) => release.metrics);
function histogram(name: string): string[] {
  return [`${name}_bucket`, `${name}_sum`, `${name}_count`];
}

const sample = (text: string, series: string): number | undefined => {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
};

describe("observability manifests", () => {
  let system: System;
  let antaeusMetrics = "";
  let paymentMetrics = "";
  let scheduledRunStartedAt = 0;
  let outbox = { pending: 0, oldest: 0 };

  beforeAll(async () => {
    // Both functions, a monthly run from the PingSource's event, and one invoice billing cannot
    // charge (its customer does not exist): then each /metrics, as Prometheus would scrape it.
    system = await startSystem({
      antaeus: { SEED_CUSTOMERS: "20", SEED_INVOICES_PER_CUSTOMER: "2" },
    });
    await system.antaeusDb`
      insert into invoices (customer_id, currency, amount_minor, period)
      values (999999, 'USD', 1000, '2026-10-01')`;
    const antaeus = system.antaeus[0]?.url ?? "";
    const { body } = await pay(
      antaeus,
      pingDelivery({ source: "antaeus/monthly-billing", id: "observability-1" }),
    );
    const run = await waitForRun(antaeus, body.id);
    expect(run.trigger).toBe("schedule");
    const [started] = await system.antaeusDb<[{ at: number }]>`
      select extract(epoch from started_at)::float8 as at from billing_runs where id = ${run.id}`;
    scheduledRunStartedAt = started.at;
    // No K_SINK here: every event the run wrote stays in the outbox.
    [outbox] = await system.antaeusDb<[{ pending: number; oldest: number }]>`
      select count(*)::int as pending, extract(epoch from min(time))::float8 as oldest
      from billing_events where delivered_at is null`;
    antaeusMetrics = await (await fetch(`${antaeus}/metrics`)).text();
    paymentMetrics = await (await fetch(`${system.payment.url}/metrics`)).text();
  });
  afterAll(() => system?.stop());

  it("the dashboard is a Grafana dashboard: JSON with a uid, a schema version and panels with queries", () => {
    expect(dashboard.uid).toMatch(/^[\w-]{8,40}$/);
    expect(dashboard.schemaVersion).toBeGreaterThan(30);
    const queried = dashboard.panels.filter((panel) => panel.type !== "row");
    expect(queried.length).toBeGreaterThan(10);
    for (const panel of queried) expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
  });

  it.each(expressions)("%s is valid PromQL", (_where, expr) => {
    expect(metricNamesIn(expr).errors).toBe(0);
  });

  it("every metric the dashboard and the rules name is exported by a function, queue-proxy or a recording rule", () => {
    const recorded = rules.flatMap((r) => (r.record ? [r.record] : []));
    const exported = new Set([
      ...exposedSeries(antaeusMetrics).map((series) => series.name),
      ...exposedSeries(paymentMetrics).map((series) => series.name),
      ...QUEUE_PROXY_METRICS,
      ...recorded,
    ]);
    const unknown = expressions.flatMap(([where, expr]) =>
      metricNamesIn(expr)
        .names.filter((name) => !exported.has(name))
        .map((name) => `${where}: ${name}`),
    );
    expect(unknown).toEqual([]);
  });

  it("each queue-proxy panel has a query for every Serving naming, each with that release's names and labels only", () => {
    const panels = dashboard.panels.filter((panel) =>
      (panel.targets ?? []).some((t) =>
        metricNamesIn(t.expr).names.some((name) => QUEUE_PROXY_METRICS.includes(name)),
      ),
    );
    expect(panels.map((panel) => panel.title)).toHaveLength(3);
    const problems = panels.flatMap((panel) =>
      QUEUE_PROXY.flatMap(({ releases, metrics, labels }) => {
        const queries = (panel.targets ?? []).filter((t) =>
          metricNamesIn(t.expr).names.every((name) => metrics.includes(name)),
        );
        if (queries.length === 0) return [`panel "${panel.title}": no query for ${releases}`];
        const known = new Set([...labels, ...TARGET_LABELS, "le"]);
        return queries.flatMap(({ expr }) =>
          [
            ...selectorsIn(expr).flatMap((selector) => selector.matchers.map((m) => m.label)),
            ...groupingLabelsIn(expr),
          ]
            .filter((label) => !known.has(label))
            .map((label) => `panel "${panel.title}", ${releases}: no label ${label} in ${expr}`),
        );
      }),
    );
    expect(problems).toEqual([]);
  });

  it("every label the dashboard and the rules match on a function's metric is one it carries, and every exact value one it shows", () => {
    const series = [...exposedSeries(antaeusMetrics), ...exposedSeries(paymentMetrics)];
    const problems = expressions.flatMap(([where, expr]) =>
      selectorsIn(expr).flatMap((selector) => {
        const ours = series.filter((s) => s.name === selector.name);
        if (ours.length === 0) return []; // queue-proxy's or a recording rule's
        return selector.matchers
          .filter((m) => !TARGET_LABELS.has(m.label))
          .filter((m) =>
            m.op === "="
              ? !ours.some((s) => s.labels[m.label] === m.value)
              : !ours.some((s) => m.label in s.labels),
          )
          .map((m) => `${where}: ${selector.name}{${m.label}${m.op}"${m.value}"}`);
      }),
    );
    expect(problems).toEqual([]);
  });

  it("Antaeus's gauges tell the database's truth: no run in progress, the monthly run's start, the invoice waiting for a person", () => {
    expect(sample(antaeusMetrics, "antaeus_billing_runs_running")).toBe(0);
    expect(
      sample(antaeusMetrics, "antaeus_billing_last_scheduled_run_start_timestamp_seconds"),
    ).toBeCloseTo(scheduledRunStartedAt, 0);
    expect(
      sample(antaeusMetrics, 'antaeus_invoices_waiting_for_person{status="CUSTOMER_NOT_FOUND"}'),
    ).toBe(1);
    expect(
      sample(antaeusMetrics, 'antaeus_invoices_waiting_for_person{status="CURRENCY_MISMATCH"}'),
    ).toBe(0);
  });

  it("Antaeus's outbox gauges tell how many events wait for the sink and since when", () => {
    expect(outbox.pending).toBeGreaterThan(0);
    expect(sample(antaeusMetrics, "antaeus_events_pending")).toBe(outbox.pending);
    expect(sample(antaeusMetrics, "antaeus_events_oldest_pending_timestamp_seconds")).toBeCloseTo(
      outbox.oldest,
      3,
    );
  });

  it("the PrometheusRule validates against the prometheus-operator CRD's schema, with no field the API server would drop", () => {
    // prometheus-operator/prometheus-operator
    // example/prometheus-operator-crd/monitoring.coreos.com_prometheusrules.yaml @01fad0d6
    // (operator 0.82.2), byte for byte.
    const [crd] = parseYaml(
      readFileSync(
        join(ROOT, "test/knative/fixtures/monitoring.coreos.com_prometheusrules.yaml"),
        "utf8",
      ),
      "CRD",
    ) as [Manifest];
    expect(crd.spec.names.kind).toBe("PrometheusRule");
    const version = (crd.spec.versions as Manifest[]).find((v) => v.name === "v1");
    const schema = closed(version?.schema.openAPIV3Schema);
    const validate = new Ajv({ strict: false, allErrors: true }).compile(schema);
    expect(rule.apiVersion).toBe(`${crd.spec.group}/v1`);
    expect(rule.kind).toBe("PrometheusRule");
    const valid = validate(rule);
    expect(validate.errors ?? [], JSON.stringify(validate.errors)).toEqual([]);
    expect(valid).toBe(true);
    // The list-map keyed by name: the API server refuses two groups of one name.
    const names = (rule.spec.groups as Array<{ name: string }>).map((group) => group.name);
    expect(new Set(names).size).toBe(names.length);
    // A rule is an alert or a recording, never both, never neither.
    for (const r of rules) expect(Boolean(r.alert) !== Boolean(r.record), r.expr).toBe(true);
  });

  it("the alerts are the on-call list: monthly run not started, stalled run, NETWORK_ERROR rate, invoices waiting, events undelivered, payment 5xx, refused callers; each has its runbook", () => {
    const alerts = rules.flatMap((r) => (r.alert ? [r.alert] : []));
    expect(alerts).toEqual([
      "AntaeusMonthlyRunNotStarted",
      "AntaeusBillingRunStalled",
      "AntaeusNetworkErrorRate",
      "AntaeusInvoicesWaitingForPerson",
      "AntaeusEventsUndelivered",
      "PaymentServerErrors",
      "PaymentRefusedCallers",
    ]);
    const runbook = readFileSync(join(ROOT, "docs/operations.md"), "utf8");
    for (const alert of alerts) {
      expect(runbook, alert).toMatch(new RegExp(`^### ${alert}$`, "m"));
    }
  });

  it("the PodMonitor validates and scrapes the ports Knative gives the app and queue-proxy", () => {
    expect(() => new PodMonitor(podMonitor as never).validate()).not.toThrow();
    // knative/serving pkg/reconciler/revision/resources/deploy.go renames the user's port
    // user-port; pkg/apis/serving/v1 names queue-proxy's Prometheus port http-usermetric (9091).
    const ports = (podMonitor.spec.podMetricsEndpoints as Array<{ port: string }>).map(
      (e) => e.port,
    );
    expect(ports).toEqual(["user-port", "http-usermetric"]);
  });

  it("the PodMonitor moves every selected Service's target to its METRICS_PORT (their API ports ask a token)", () => {
    const [app] = podMonitor.spec.podMetricsEndpoints as Array<{ relabelings?: Relabeling[] }>;
    const { docs } = loadManifests();
    const ksvcs = docs.filter(
      (doc) => doc.kind === "Service" && doc.apiVersion.startsWith("serving.knative.dev/"),
    );
    const selected = podMonitor.spec.selector.matchExpressions[0].values as string[];
    expect(ksvcs.map((ksvc) => ksvc.metadata.name).sort()).toEqual([...selected].sort());
    for (const ksvc of ksvcs) {
      const name = ksvc.metadata.name as string;
      const metricsPort = resolvedEnv(docs, ksvc).METRICS_PORT;
      expect(metricsPort, name).toBe("9464");
      const moved = (address: string) =>
        relabel(app?.relabelings ?? [], {
          __address__: address,
          __meta_kubernetes_pod_label_serving_knative_dev_service: name,
        }).__address__;
      expect(moved("10.1.2.3:8080")).toBe(`10.1.2.3:${metricsPort}`);
      expect(moved("[fd00::5]:8080")).toBe(`[fd00::5]:${metricsPort}`);
    }
    // Anything else the selector might one day take is left where its pod says.
    expect(
      relabel(app?.relabelings ?? [], {
        __address__: "10.1.2.3:8080",
        __meta_kubernetes_pod_label_serving_knative_dev_service: "event-display",
      }).__address__,
    ).toBe("10.1.2.3:8080");
  });

  it("monitoring is its own kustomization, outside `kubectl apply -k knative/` (its CRDs may be absent)", () => {
    const main = listedFiles(KNATIVE_DIR);
    expect(main.some((file) => file.startsWith(OBSERVABILITY_DIR))).toBe(false);
    const onDisk = filesUnder(OBSERVABILITY_DIR, ".yaml").filter(
      (file) => !file.endsWith("kustomization.yaml"),
    );
    expect(onDisk.sort()).toEqual(listedFiles(OBSERVABILITY_DIR).sort());
    if (kubectlVersion()) {
      const kinds = renderWithKubectl(OBSERVABILITY_DIR)
        .map((doc) => doc.kind)
        .sort();
      expect(kinds).toEqual(["ConfigMap", "PodMonitor", "PrometheusRule"]);
    }
  });
});

/**
 * The CRD's schema with every declared object closed to other fields. The API server does not
 * refuse an unknown field in a custom resource: it prunes it, so a misspelt `for:` would vanish
 * silently and the alert fire at once. Here it fails.
 */
function closed(schema: Manifest): Manifest {
  if (Array.isArray(schema)) return schema.map(closed);
  if (schema === null || typeof schema !== "object") return schema;
  const out: Manifest = {};
  for (const [key, value] of Object.entries(schema)) {
    // Kubernetes evaluates patterns with Go's RE2; the one case-insensitive flag is not
    // JavaScript syntax, and the field (Thanos only) is not used here.
    if (key === "pattern" && String(value).startsWith("^(?i)")) continue;
    out[key] = key === "properties" ? mapValues(value, closed) : closed(value);
  }
  if (out.properties && out.additionalProperties === undefined) out.additionalProperties = false;
  return out;
}
const mapValues = (object: Manifest, f: (value: Manifest) => Manifest): Manifest =>
  Object.fromEntries(Object.entries(object).map(([k, v]) => [k, f(v)]));
