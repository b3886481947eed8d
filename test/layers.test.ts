import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const FUNCTIONS = resolve(import.meta.dirname, "../functions");

/** Every import of every module under functions/, as the module and what it names. */
function imports(): Array<{ from: string; to: string }> {
  const files = readdirSync(FUNCTIONS, { recursive: true, encoding: "utf8" }).filter(
    (file) => /\.tsx?$/.test(file) && !/\.test\.tsx?$/.test(file),
  );
  return files.flatMap((file) => {
    const text = readFileSync(join(FUNCTIONS, file), "utf8");
    const specifiers = [
      // `import … from "x"`, `export … from "x"` and a bare `import "x"`.
      ...text.matchAll(/^\s*(?:import|export)\b(?:[^;"]*?\bfrom)?\s*"([^"]+)"/gms),
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
    rule: "billing/ imports no Hono and no rest/ or pages/",
    applies: /^antaeus\/billing\//,
    forbids: (to) => FRAMEWORK.test(to) || /^antaeus\/(rest|pages)\//.test(to),
  },
  {
    rule: "data/ imports no rest/, pages/ or feature folder",
    applies: /^(antaeus|payment)\/data\//,
    forbids: (to) => /^(antaeus\/(rest|pages|billing)|payment\/(charges|auth))\//.test(to),
  },
  {
    rule: "the REST routes do not import the pages (the pages are an outer layer beside them)",
    applies: /^antaeus\/rest\//,
    forbids: (to) => to.startsWith("antaeus/pages/"),
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
    // .tsx modules too: the pages are JSX.
    expect(all).toContainEqual({ from: "antaeus/pages/routes.tsx", to: "runtime/index.js" });
  });

  it.each(RULES.map((rule) => [rule.rule, rule] as const))("%s", (_name, rule) => {
    const violations = imports()
      .filter(({ from, to }) => rule.applies.test(from) && rule.forbids(to))
      .map(({ from, to }) => `${from} imports ${to}`);
    expect(violations).toEqual([]);
  });
});
