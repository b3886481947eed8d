import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import semver from "semver";
import { describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "..");
const readJson = (file: string) => JSON.parse(readFileSync(join(ROOT, file), "utf8"));

interface LockedPackage {
  version?: string;
  cpu?: string[];
  engines?: { node?: string };
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

const manifest = readJson("package.json");
const locked: Record<string, LockedPackage> = readJson("package-lock.json").packages;

/** Where npm finds `name` from the package at `path`: its own node_modules, then each parent's. */
function resolveFrom(path: string, name: string): string | undefined {
  for (let dir = path; ; dir = dir.replace(/\/?node_modules\/(@[^/]+\/)?[^/]+$/, "")) {
    const candidate = `${dir ? `${dir}/` : ""}node_modules/${name}`;
    if (candidate in locked) return candidate;
    if (!dir) return undefined;
  }
}

/**
 * Every package `npm ci` can install, walked from package.json through the lock. A binding built
 * for WebAssembly (`cpu: ["wasm32"]`) is left out with what only it pulls in: no Node host has
 * that arch, so npm never installs it. Bindings for every real platform are walked, not just
 * this one: a later upgrade can break a Mac as well.
 */
function installable(): Map<string, LockedPackage> {
  const seen = new Map<string, LockedPackage>();
  const visit = (path: string) => {
    const entry = locked[path];
    if (!entry || seen.has(path) || entry.cpu?.every((cpu) => cpu === "wasm32")) return;
    seen.set(path, entry);
    for (const name of Object.keys({ ...entry.dependencies, ...entry.optionalDependencies })) {
      const target = resolveFrom(path, name);
      if (target) visit(target);
    }
  };
  const root = { ...manifest.dependencies, ...manifest.devDependencies };
  for (const name of Object.keys(root)) visit(`node_modules/${name}`);
  return seen;
}

describe("the Node version package.json promises", () => {
  const lowest = semver.minVersion(manifest.engines.node)?.version as string;

  it("is a real lower bound (the README says the same)", () => {
    expect(lowest).toBe("20.18.1");
    expect(readFileSync(join(ROOT, "README.md"), "utf8")).toContain(`Node.js ${lowest} or newer`);
  });

  // npm only warns about a dependency's engines, and silently skips an optional one (a native
  // binding) that refuses the running Node: the install "works" and vitest or knip then dies.
  it("is accepted by the engines of every package npm ci installs, so npm start, test and lint run on it", () => {
    const packages = installable();
    const refusing = [...packages]
      .filter(([, entry]) => entry.engines?.node && !semver.satisfies(lowest, entry.engines.node))
      .map(([path, entry]) => `${path}@${entry.version} wants node ${entry.engines?.node}`);
    expect(packages.size).toBeGreaterThan(100);
    expect(refusing).toEqual([]);
  });
});
