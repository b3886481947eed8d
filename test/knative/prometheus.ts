import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import { KNATIVE_DIR, type Manifest, parseYaml } from "./manifests.js";

/**
 * The Prometheus server and promtool the alert tests run: Debian's `prometheus` package ships
 * both (PROMETHEUS_PATH, PROMTOOL_PATH for others). Where they are missing the tests say so and
 * skip, except under CI=true, where a missing one fails (`.ci/run` installs them).
 */
export const PROMETHEUS = process.env.PROMETHEUS_PATH ?? "prometheus";
export const PROMTOOL = process.env.PROMTOOL_PATH ?? "promtool";

/** The first line of `<binary> --version`, or undefined when it does not run. */
export function versionOf(binary: string): string | undefined {
  const run = spawnSync(binary, ["--version"], { encoding: "utf8" });
  if (run.status !== 0) return undefined;
  return `${run.stdout}${run.stderr}`.split("\n")[0];
}

export const skipWithout = (binary: string) =>
  versionOf(binary) === undefined && process.env.CI !== "true";

/** The version a suite runs against, or why it is skipped (or fails, under CI=true). */
export const ranWith = (binary: string) =>
  versionOf(binary) ?? `MISSING: ${binary} not found; apt-get install prometheus`;

interface RuleGroup {
  name: string;
  rules: Array<{ alert?: string; record?: string; expr: string }>;
}

/** The rule groups of the shipped PrometheusRule: what the operator hands Prometheus as a rule file. */
export function ruleGroups(): RuleGroup[] {
  const [rule] = parseYaml(
    readFileSync(join(KNATIVE_DIR, "observability/prometheus-rule.yaml"), "utf8"),
    "prometheus-rule.yaml",
  ) as [Manifest];
  return rule.spec.groups as RuleGroup[];
}

export const alertNames = (groups = ruleGroups()): string[] =>
  groups.flatMap((group) => group.rules.flatMap((rule) => (rule.alert ? [rule.alert] : [])));

/** A Prometheus rule file holding the groups. */
export const ruleFile = (groups: RuleGroup[]): string => stringify({ groups });

/**
 * The rule file for one alert's promtool tests: every recording rule, and of the alerts only
 * this one, each in the group it ships in. promtool evaluates every rule of its rule files at
 * every step, so this keeps a test's walk to the month it checks short.
 */
export function alertRuleFile(alert: string, groups = ruleGroups()): string {
  return ruleFile(
    groups
      .map((group) => ({
        ...group,
        rules: group.rules.filter((rule) => rule.record || rule.alert === alert),
      }))
      .filter((group) => group.rules.length > 0),
  );
}
