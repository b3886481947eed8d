import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const FUNCTIONS = resolve(import.meta.dirname, "../functions");

/** Every import of every module under functions/, as the module and what it names. */
function imports(): Array<{ from: string; to: string }> {
  const files = readdirSync(FUNCTIONS, { recursive: true, encoding: "utf8" }).filter(
    (file) => file.endsWith(".ts") && !file.endsWith(".test.ts"),
  );
  return files.flatMap((file) => {
    const text = readFileSync(join(FUNCTIONS, file), "utf8");
    const specifiers = [
      ...text.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s+"([^"]+)"/gms),
      ...text.matchAll(/\bimport\(\s*"([^"]+)"\s*\)/g),
    ].map((match) => match[1] as string);
    return specifiers.map((specifier) => ({
      from: file,
      to: specifier.startsWith(".")
        ? relative(FUNCTIONS, resolve(dirname(join(FUNCTIONS, file)), specifier))
        : specifier,
    }));
  });
}

const FRAMEWORK = /^(hono|@hono\/|@scalar\/)/;
const DATABASE = /^(postgres|drizzle-orm)(\/|$)/;

/** The layer rules of the README's architecture table; each names what it forbids. */
const RULES: Array<{ rule: string; applies: RegExp; forbids: (to: string) => boolean }> = [
  {
    rule: "domain/ imports no Hono, postgres or drizzle, and no other folder but the kernel",
    applies: /^(antaeus|payment)\/domain\//,
    forbids: (to) =>
      FRAMEWORK.test(to) ||
      DATABASE.test(to) ||
      /^(antaeus|payment)\/(?!domain\/)/.test(to) ||
      to.startsWith("runtime/"),
  },
  {
    rule: "the kernel imports nothing of ours and no framework",
    applies: /^kernel\//,
    forbids: (to) =>
      FRAMEWORK.test(to) || DATABASE.test(to) || /^(antaeus|payment|runtime)\//.test(to),
  },
  {
    rule: "billing/ imports no Hono and no rest/",
    applies: /^antaeus\/billing\//,
    forbids: (to) => FRAMEWORK.test(to) || to.startsWith("antaeus/rest/"),
  },
  {
    rule: "data/ imports no rest/ or feature folder",
    applies: /^(antaeus|payment)\/data\//,
    forbids: (to) => /^(antaeus\/(rest|billing)|payment\/(charges|auth))\//.test(to),
  },
  {
    rule: "outside the runtime, the runtime is imported through its index.ts only",
    applies: /^(antaeus|payment|kernel)\//,
    forbids: (to) => to.startsWith("runtime/") && to !== "runtime/index.js",
  },
];

describe("layers", () => {
  it("finds the imports it checks", () => {
    // A parser that found nothing would pass every rule.
    const all = imports();
    expect(all.length).toBeGreaterThan(150);
    expect(all).toContainEqual({ from: "antaeus/data/claims.ts", to: "antaeus/domain/status.js" });
  });

  it.each(RULES.map((rule) => [rule.rule, rule] as const))("%s", (_name, rule) => {
    const violations = imports()
      .filter(({ from, to }) => rule.applies.test(from) && rule.forbids(to))
      .map(({ from, to }) => `${from} imports ${to}`);
    expect(violations).toEqual([]);
  });
});
