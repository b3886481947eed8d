import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "..");
const FUNCTIONS = join(ROOT, "functions");

/** What a module imports: `import … from "x"`, `export … from "x"`, `import "x"`, `import("x")`. */
function specifiersOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  return [
    ...text.matchAll(/^\s*(?:import|export)\b(?:[^;"]*?\bfrom)?\s*"([^"]+)"/gms),
    ...text.matchAll(/\bimport\(\s*"([^"]+)"\s*\)/g),
  ].map((match) => match[1] as string);
}

/** The modules under `dir` (relative to it), tests included or not. */
const modulesIn = (dir: string, tests: boolean) =>
  readdirSync(dir, { recursive: true, encoding: "utf8" }).filter(
    (file) =>
      /\.(tsx?|mjs)$/.test(file) &&
      !file.includes("node_modules") &&
      (tests || !/\.test\.tsx?$/.test(file)),
  );

/** Every import of every module under functions/, as the module and what it names. */
function imports(): Array<{ from: string; to: string }> {
  return modulesIn(FUNCTIONS, false).flatMap((file) =>
    specifiersOf(join(FUNCTIONS, file)).map((specifier) => ({
      from: file,
      to: specifier.startsWith(".")
        ? relative(FUNCTIONS, resolve(dirname(join(FUNCTIONS, file)), specifier))
        : specifier,
    })),
  );
}

/** Our modules (the functions, dev/, bench/, scripts/, test/) and the ones of ours each imports. */
function moduleGraph(): Map<string, string[]> {
  const files = ["functions", "dev", "bench", "scripts", "test"].flatMap((dir) =>
    modulesIn(join(ROOT, dir), true).map((file) => join(dir, file)),
  );
  const known = new Set(files);
  // A TypeScript module is imported under its .js name.
  const moduleAt = (path: string) =>
    [path, path.replace(/\.js$/, ".ts"), path.replace(/\.js$/, ".tsx")].find((candidate) =>
      known.has(candidate),
    );
  return new Map(
    files.map((file) => [
      file,
      specifiersOf(join(ROOT, file)).flatMap((specifier) => {
        if (!specifier.startsWith(".")) return [];
        const target = moduleAt(relative(ROOT, resolve(ROOT, dirname(file), specifier)));
        return target ? [target] : [];
      }),
    ]),
  );
}

/**
 * Each circle of imports in `graph`, as the path around it (a → b → a): Tarjan's strongly
 * connected components, then a path through each.
 */
function importCircles(graph: Map<string, string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const components: string[][] = [];
  const visit = (module: string) => {
    index.set(module, index.size);
    low.set(module, index.get(module) as number);
    stack.push(module);
    for (const next of graph.get(module) ?? []) {
      if (!index.has(next)) {
        visit(next);
        low.set(module, Math.min(low.get(module) as number, low.get(next) as number));
      } else if (stack.includes(next)) {
        low.set(module, Math.min(low.get(module) as number, index.get(next) as number));
      }
    }
    if (low.get(module) !== index.get(module)) return;
    const component = stack.splice(stack.indexOf(module));
    if (component.length > 1 || graph.get(module)?.includes(module)) components.push(component);
  };
  for (const module of graph.keys()) if (!index.has(module)) visit(module);
  return components.map((component) => {
    // From the component's first module, follow imports inside it until one comes round again.
    const members = new Set(component);
    const path = [component[0] as string];
    for (;;) {
      const next = (graph.get(path.at(-1) as string) ?? []).find((to) => members.has(to)) as string;
      const seen = path.indexOf(next);
      if (seen >= 0) return [...path.slice(seen), next];
      path.push(next);
    }
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
    rule: "the runtime knows nothing of either function",
    applies: /^runtime\//,
    forbids: (to) => /^(antaeus|payment)\//.test(to),
  },
  {
    rule: "the runtime's web/ (what an app is built from) imports nothing of process/ (what serves it)",
    applies: /^runtime\/web\//,
    forbids: (to) => to.startsWith("runtime/process/"),
  },
  {
    rule: "the functions import nothing from outside functions/ (dev/, test/, scripts/)",
    applies: /./,
    forbids: (to) => to.startsWith("../"),
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
    expect(all).toContainEqual({
      from: "antaeus/data/verdicts.ts",
      to: "antaeus/domain/status.js",
    });
    // .tsx modules too: the pages are JSX.
    expect(all).toContainEqual({ from: "antaeus/pages/routes.tsx", to: "runtime/index.js" });
  });

  it("no module imports itself through others, in the functions, dev/, bench/, scripts/ or test/", () => {
    const graph = moduleGraph();
    // The reader finds the imports it must: the app's route module imports its runtime.
    expect(graph.get("functions/antaeus/rest/billing.ts")).toContain("functions/runtime/index.ts");
    expect(graph.get("test/support/global-setup.ts")).toContain("dev/embedded-postgres.ts");
    expect(importCircles(graph).map((circle) => circle.join(" → "))).toEqual([]);
  });

  it("names a circle of imports, and one module importing itself", () => {
    const graph = new Map([
      ["a", ["b"]],
      ["b", ["c", "d"]],
      ["c", ["a"]],
      ["d", ["d"]],
      ["e", ["a"]],
    ]);
    expect(importCircles(graph)).toEqual([
      ["d", "d"],
      ["a", "b", "c", "a"],
    ]);
  });

  it.each(RULES.map((rule) => [rule.rule, rule] as const))("%s", (_name, rule) => {
    const violations = imports()
      .filter(({ from, to }) => rule.applies.test(from) && rule.forbids(to))
      .map(({ from, to }) => `${from} imports ${to}`);
    expect(violations).toEqual([]);
  });
});
