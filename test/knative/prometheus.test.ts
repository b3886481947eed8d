import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { freePort } from "../../dev/free-port.js";
import {
  ANTAEUS,
  ISSUER,
  type SigningKey,
  signingKey,
  startJwksServer,
  token,
} from "../support/identity.js";
import { type FunctionProcess, metricsUrlOf } from "../support/processes.js";
import { type System, startSystem, waitForNoRunningRun } from "../support/system.js";
import { find, KNATIVE_DIR, loadManifests, type Manifest, parseYaml } from "./manifests.js";
import { PROMETHEUS, ranWith, ruleFile, ruleGroups, skipWithout, versionOf } from "./prometheus.js";

/**
 * The monitoring as a cluster runs it, short of Kubernetes: Debian's Prometheus on loopback with
 * the PrometheusRule's groups, scraping both functions (production settings: auth on, Antaeus's
 * open routes none) the way the PodMonitor says, every second, while a billing run goes on with
 * hard declines (payment's decline mix) and network errors (payment answering 503 to one charge
 * in five; Antaeus not retrying). Then the dashboard's queries must return data and the alerts
 * that run should raise must go pending or fire.
 */

const dashboard = JSON.parse(
  readFileSync(join(KNATIVE_DIR, "observability/antaeus-dashboard.json"), "utf8"),
) as { panels: Array<{ title: string; targets?: Array<{ expr: string }> }> };
const [podMonitor] = parseYaml(
  readFileSync(join(KNATIVE_DIR, "observability/pod-monitor.yaml"), "utf8"),
  "pod-monitor.yaml",
) as [Manifest];
const { docs } = loadManifests();

/** Queue-proxy's metrics: Knative's sidecar, which does not run outside a cluster. */
const QUEUE_PROXY = /\b(revision_|kn_queueproxy_|kn_serving_)/;

/** What the run below must raise, by the state Prometheus gives it (the rest stay silent). */
const EXPECTED: Record<string, "pending" | "firing"> = {
  // `for: 5m` or `for: 15m`: pending, a run of seconds later.
  AntaeusNetworkErrorRate: "pending",
  AntaeusInvoicesWaitingForPerson: "pending",
  PaymentServerErrors: "pending",
  // No `for`: firing at once.
  PaymentRefusedCallers: "firing",
  // No run was ever started by the schedule here: it fires, but in the first hour of a month.
  ...(copenhagenSecondsIntoMonth(new Date()) >= 3600
    ? { AntaeusMonthlyRunNotStarted: "firing" as const }
    : {}),
};

describe.skipIf(skipWithout(PROMETHEUS))(`a real Prometheus (${ranWith(PROMETHEUS)})`, () => {
  let dir = "";
  let key: SigningKey;
  let jwks: Awaited<ReturnType<typeof startJwksServer>>;
  let system: System;
  let prometheus: ChildProcess | undefined;
  let api = "";
  let runStart = 0;
  let alerts: Array<{ labels: { alertname: string }; state: string }> = [];

  beforeAll(async () => {
    expect(versionOf(PROMETHEUS), `no ${PROMETHEUS}: apt-get install prometheus`).toBeDefined();
    dir = mkdtempSync(join(tmpdir(), "antaeus-prometheus-"));
    key = await signingKey("cluster-1");
    jwks = await startJwksServer();
    jwks.state.keys = [key.jwk];
    jwks.state.token = "jwks-reader";
    const file = (name: string, text: string) => {
      writeFileSync(join(dir, name), text);
      return join(dir, name);
    };
    const jwksToken = file("jwks-token", "jwks-reader\n");
    // Antaeus's auth config as shipped, the cluster's issuer (discovered from the API server on
    // a cluster) named here, its keys served here.
    const shipped = JSON.parse(find(docs, "ConfigMap", "antaeus-auth").data["auth.json"]);
    shipped.issuers = [
      { ...shipped.issuers[0], issuer: ISSUER, jwksUrl: jwks.url, jwksTokenFile: jwksToken },
    ];

    system = await startSystem({
      antaeus: {
        ANTAEUS_AUTH: "on",
        ANTAEUS_AUTH_OPEN_ROUTES: "none",
        ANTAEUS_AUTH_CONFIG_FILE: file("auth.json", JSON.stringify(shipped)),
        BILLING_SELF_TOKEN_FILE: file("self-token", await token(key, { aud: "antaeus" })),
        PAYMENT_TOKEN_FILE: file("payment-token", await token(key)),
        METRICS_PORT: "0",
        PAYMENT_RETRIES: "0",
        SEED_CUSTOMERS: "30",
        SEED_INVOICES_PER_CUSTOMER: "10",
        BILLING_CONCURRENCY: "4",
      },
      payment: {
        PAYMENT_AUTH: "jwks",
        PAYMENT_AUTH_ISSUER: ISSUER,
        PAYMENT_AUTH_SUBJECT: ANTAEUS,
        PAYMENT_AUTH_JWKS_URL: jwks.url,
        PAYMENT_AUTH_JWKS_TOKEN_FILE: jwksToken,
        PAYMENT_ERROR_RATE: "0.2",
        PAYMENT_LATENCY_MS: "40-60",
        METRICS_PORT: "0",
      },
    });
    const antaeus = system.antaeus[0]!;
    const metricsPort = (fn: FunctionProcess) => Number(new URL(metricsUrlOf(fn)).port);

    // The pods as Kubernetes would list them to Prometheus: their labels and named ports.
    const pods = [
      {
        service: "antaeus",
        address: `127.0.0.1:${antaeus.port}`,
        metricsPort: metricsPort(antaeus),
      },
      {
        service: "payment",
        address: `127.0.0.1:${system.payment.port}`,
        metricsPort: metricsPort(system.payment),
      },
    ];
    const port = await freePort();
    api = `http://127.0.0.1:${port}/api/v1`;
    writeFileSync(join(dir, "rules.yaml"), ruleFile(ruleGroups()));
    writeFileSync(
      join(dir, "prometheus.yml"),
      stringify({
        // A scrape may take as long as its interval (scrape_timeout is capped by it), and Antaeus's
        // reads the database: half a second failed scrapes on a loaded machine.
        global: { scrape_interval: "1s", evaluation_interval: "1s" },
        rule_files: ["rules.yaml"],
        scrape_configs: scrapeConfigs(pods),
      }),
    );
    prometheus = spawn(
      PROMETHEUS,
      [
        `--config.file=${join(dir, "prometheus.yml")}`,
        `--storage.tsdb.path=${join(dir, "data")}`,
        `--web.listen-address=127.0.0.1:${port}`,
        "--log.level=warn",
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    let log = "";
    prometheus.stderr?.on("data", (chunk) => {
      log += chunk;
    });
    await until(
      () => "Prometheus ready",
      async () => {
        expect(prometheus?.exitCode, log).toBeNull();
        return (await fetch(`http://127.0.0.1:${port}/-/ready`).catch(() => undefined))?.ok;
      },
    );

    // Prometheus scrapes a target first once discovery hands it over (seconds after start).
    let targets: Array<{ scrapeUrl: string; health: string; lastError: string }> = [];
    await until(
      () => `both functions scraped: ${JSON.stringify(targets)}`,
      async () => {
        targets = (await query<{ activeTargets: typeof targets }>("/targets")).activeTargets;
        return targets.length === 2 && targets.every((target) => target.health === "up");
      },
    );
    // A caller without a token knocks at payment once, then ten times once Prometheus saw the
    // 401 series, so that it sees it grow.
    const knock = () =>
      fetch(`${system.payment.url}/v1/charges`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ invoice_id: 1, customer_id: 1, currency: "EUR", value: 10 }),
      });
    await knock();
    await until(
      () => "the first refusal scraped",
      async () =>
        (
          await query<{ result: unknown[] }>("/query", {
            query: 'http_request_duration_seconds_count{status="401"}',
          })
        ).result.length > 0,
    );
    runStart = Date.now() / 1000;
    const operator = await token(key, { aud: "antaeus", sub: `${ANTAEUS}-operator` });
    const paying = fetch(`${antaeus.url}/rest/v1/invoices/pay`, {
      method: "POST",
      headers: { authorization: `Bearer ${operator}` },
    });
    await Promise.all(Array.from({ length: 10 }, knock));
    const paid = await paying;
    expect(paid.status, await paid.text()).toBeLessThan(300);
    await waitForNoRunningRun(system, 60_000);
    // The dashboard's queries read what the run left (the outbox's backlog among them): wait for
    // a scrape of every target that began after it ended and succeeded (a failed one is stamped
    // too, with up 0 and no gauges), which a loaded machine may delay. `up` is stamped with its
    // scrape's start (prometheus/prometheus scrape/scrape.go, `report`:
    // `ts := timestamp.FromTime(start)`, commit 0008cbee).
    const runEnd = Date.now() / 1000;
    await until(
      () => "every target scraped, successfully, after the run",
      async () => {
        const { result } = await query<{ result: unknown[] }>("/query", {
          query: `count(timestamp(up == 1) > ${runEnd}) == count(up)`,
        });
        return result.length > 0;
      },
    );

    await until(
      () => `the alerts the run should raise; seen: ${JSON.stringify(alerts)}`,
      async () => {
        alerts = (await query<{ alerts: typeof alerts }>("/alerts")).alerts;
        return Object.entries(EXPECTED).every(([name, state]) =>
          alerts.some((a) => a.labels.alertname === name && a.state === state),
        );
      },
    );
  });
  afterAll(async () => {
    if (prometheus?.exitCode === null) {
      prometheus.kill("SIGTERM");
      await once(prometheus, "exit");
    }
    await system?.stop();
    await jwks?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function query<T>(path: string, params: Record<string, string | number> = {}) {
    const url = new URL(`${api}${path}`);
    for (const [name, value] of Object.entries(params)) url.searchParams.set(name, String(value));
    const body = (await (await fetch(url)).json()) as { status: string; data: T; error?: string };
    expect(body.status, `${url}: ${body.error}`).toBe("success");
    return body.data;
  }

  it("evaluates every rule of the PrometheusRule without an error", async () => {
    const { groups } = await query<{
      groups: Array<{ rules: Array<{ name: string; health: string; lastError?: string }> }>;
    }>("/rules");
    const rules = groups.flatMap((group) => group.rules);
    expect(rules).toHaveLength(ruleGroups().flatMap((group) => group.rules).length);
    expect(rules.filter((rule) => rule.health !== "ok")).toEqual([]);
  });

  it("raises what a run with hard declines and network errors should, and nothing else", () => {
    expect(
      Object.fromEntries(alerts.map((alert) => [alert.labels.alertname, alert.state])),
    ).toEqual(EXPECTED);
  });

  it("answers every query of the dashboard with data (queue-proxy's: accepted, no data here)", async () => {
    const end = Date.now() / 1000;
    const empty: string[] = [];
    for (const panel of dashboard.panels) {
      for (const { expr } of panel.targets ?? []) {
        const { result } = await query<{ result: Array<{ values: Array<[number, string]> }> }>(
          "/query_range",
          { query: expr, start: runStart - 2, end, step: 1 },
        );
        const finite = result.some((series) =>
          series.values.some(([, value]) => Number.isFinite(Number(value))),
        );
        if (!finite && !QUEUE_PROXY.test(expr)) empty.push(`${panel.title}: ${expr}`);
      }
    }
    expect(empty).toEqual([]);
  });

  it("tells Copenhagen's time of month as the time zone database does", async () => {
    const now = new Date();
    const { result } = await query<{ result: Array<{ value: [number, string] }> }>("/query", {
      query: "antaeus:copenhagen_seconds_into_month",
    });
    const recorded = Number(result[0]?.value[1]);
    // The rules read summer time by month (April to October), which is right on every 1st; in
    // the days after the last Sunday of March or of October they are an hour off.
    const offBy = Math.abs(recorded - copenhagenSecondsIntoMonth(now));
    expect(offBy < 5 || Math.abs(offBy - 3600) < 5, `${recorded}`).toBe(true);
    if (now.getUTCDate() < 25) expect(offBy).toBeLessThan(5);
  });

  /**
   * One scrape job per endpoint of the PodMonitor, as the Prometheus Operator writes it: the
   * target labels it sets (namespace, pod, container, endpoint) and the endpoint's own
   * relabelings, which Prometheus applies unchanged. Every pod here shares one address, so each
   * function's METRICS_PORT is a free port rather than 9464: one rule after the PodMonitor's
   * turns a pod's 9464 into its function's port (observability.test.ts checks that 9464 is each
   * ksvc's METRICS_PORT).
   */
  function scrapeConfigs(
    pods: Array<{ service: string; address: string; metricsPort: number }>,
  ): unknown[] {
    const endpoints = podMonitor.spec.podMetricsEndpoints as Manifest[];
    return endpoints
      .filter((endpoint) => endpoint.port === "user-port")
      .map((endpoint) => ({
        job_name: `podMonitor/monitoring/${podMonitor.metadata.name}/${endpoints.indexOf(endpoint)}`,
        metrics_path: endpoint.path,
        static_configs: pods.map((pod) => ({
          targets: [pod.address],
          labels: {
            __meta_kubernetes_pod_label_serving_knative_dev_service: pod.service,
            namespace: pod.service,
            pod: `${pod.service}-00001-deployment-0`,
            container: pod.service,
            endpoint: endpoint.port,
          },
        })),
        relabel_configs: [
          ...(endpoint.relabelings ?? []).map((rule: Manifest) => ({
            source_labels: rule.sourceLabels,
            regex: rule.regex,
            target_label: rule.targetLabel,
            replacement: rule.replacement,
          })),
          ...pods.map((pod) => ({
            source_labels: [
              "__meta_kubernetes_pod_label_serving_knative_dev_service",
              "__address__",
            ],
            regex: `${pod.service};(.+):9464`,
            target_label: "__address__",
            replacement: `$1:${pod.metricsPort}`,
          })),
        ],
      }));
  }
});

/** Seconds since midnight on the 1st in Copenhagen, from the time zone database. */
function copenhagenSecondsIntoMonth(at: Date): number {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat("en-GB", {
      timeZone: "Europe/Copenhagen",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
      hourCycle: "h23",
    })
      .formatToParts(at)
      .map((part) => [part.type, Number(part.value)]),
  ) as Record<"day" | "hour" | "minute" | "second", number>;
  return (parts.day - 1) * 86_400 + parts.hour * 3600 + parts.minute * 60 + parts.second;
}

async function until(
  what: () => string,
  check: () => Promise<boolean | undefined>,
  timeoutMs = 30_000,
) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what()}: not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
