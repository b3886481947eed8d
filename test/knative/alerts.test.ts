import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import {
  alertNames,
  alertRuleFile,
  PROMTOOL,
  ranWith,
  ruleFile,
  ruleGroups,
  skipWithout,
  versionOf,
} from "./prometheus.js";

/**
 * The alerts of knative/observability/prometheus-rule.yaml, run by Prometheus's own promtool:
 * `promtool check rules` on the rule groups as the operator hands them to Prometheus, and
 * `promtool test rules` on test/knative/alerts/<alert>.yaml, each alert fed the series that
 * should fire it and series of healthy runs that must not.
 */
const TESTS_DIR = join(import.meta.dirname, "alerts");
const groups = ruleGroups();
const alerts = alertNames(groups);
const testFiles = readdirSync(TESTS_DIR).filter((file) => file.endsWith(".yaml"));

interface PromtoolTests {
  rule_files: string[];
  tests: Array<{
    name: string;
    alert_rule_test?: Array<{ alertname: string; exp_alerts?: unknown[] }>;
  }>;
}
const promtoolTests = (alert: string) =>
  parse(readFileSync(join(TESTS_DIR, `${alert}.yaml`), "utf8")) as PromtoolTests;

const run = promisify(execFile);
async function promtool(args: string[], cwd: string) {
  try {
    const { stdout, stderr } = await run(PROMTOOL, args, { cwd });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? 1, output: `${failed.stdout ?? ""}${failed.stderr ?? ""}` };
  }
}

// Prometheus runs the rules of a group in order, each seeing what the earlier ones recorded at
// the same evaluation, and groups side by side: an alert in another group than the recording
// rule it reads sees that rule's last evaluation or none (promtool, evaluating one group after
// the other in no fixed order, showed it as an alert that fired or not from run to run).
it("every alert that reads a recorded series is in the group that records it", () => {
  const misplaced = groups.flatMap((group) =>
    group.rules.flatMap((rule) =>
      rule.alert
        ? groups
            .filter((other) => other !== group)
            .flatMap((other) => other.rules.flatMap((r) => (r.record ? [r.record] : [])))
            .filter((record) => rule.expr.includes(record))
            .map((record) => `${rule.alert} reads ${record} from another group`)
        : [],
    ),
  );
  expect(misplaced).toEqual([]);
});

it("every alert has its promtool tests, and every test file is an alert's", () => {
  expect(testFiles.map((file) => basename(file, ".yaml")).sort()).toEqual([...alerts].sort());
});

it.each(alerts)(
  "%s: its tests fire it on some series and keep it silent on healthy ones",
  (alert) => {
    const file = promtoolTests(alert);
    expect(file.rule_files).toEqual([`${alert}.rules.yaml`]);
    const checks = file.tests.flatMap((test) =>
      (test.alert_rule_test ?? []).map((check) => ({ test: test.name, ...check })),
    );
    expect(checks.length).toBeGreaterThan(0);
    for (const check of checks) expect(check.alertname, check.test).toBe(alert);
    const firing = checks.filter((check) => (check.exp_alerts ?? []).length > 0);
    const silent = checks.filter((check) => (check.exp_alerts ?? []).length === 0);
    expect(new Set(firing.map((check) => check.test)).size).toBeGreaterThan(0);
    // Healthy runs: tests that expect the alert nowhere.
    const healthy = file.tests.filter((test) =>
      (test.alert_rule_test ?? []).every((check) => (check.exp_alerts ?? []).length === 0),
    );
    expect(silent.length).toBeGreaterThan(0);
    expect(healthy.length, "a test where the alert stays silent throughout").toBeGreaterThan(0);
  },
);

describe.skipIf(skipWithout(PROMTOOL))(`promtool (${ranWith(PROMTOOL)})`, () => {
  let dir = "";
  let check: { code: number; output: string };
  const results = new Map<string, { code: number; output: string }>();

  beforeAll(async () => {
    expect(versionOf(PROMTOOL), `no ${PROMTOOL}: apt-get install prometheus`).toBeDefined();
    dir = mkdtempSync(join(tmpdir(), "antaeus-rules-"));
    writeFileSync(join(dir, "antaeus-billing.rules.yaml"), ruleFile(groups));
    for (const alert of alerts) {
      writeFileSync(join(dir, `${alert}.rules.yaml`), alertRuleFile(alert, groups));
      writeFileSync(join(dir, `${alert}.yaml`), readFileSync(join(TESTS_DIR, `${alert}.yaml`)));
    }
    check = await promtool(["check", "rules", "antaeus-billing.rules.yaml"], dir);
    await Promise.all(
      alerts.map(async (alert) => {
        results.set(alert, await promtool(["test", "rules", `${alert}.yaml`], dir));
      }),
    );
  });

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("checks the rule groups of the PrometheusRule: every rule found, none refused", () => {
    const rules = groups.flatMap((group) => group.rules).length;
    expect(check.output).toContain(`SUCCESS: ${rules} rules found`);
    expect(check.code, check.output).toBe(0);
  });

  it.each(alerts)("%s passes its promtool tests", (alert) => {
    const result = results.get(alert);
    expect(result?.code, result?.output).toBe(0);
    expect(result?.output).toContain("SUCCESS");
  });
});
