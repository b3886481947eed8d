import { mkdir, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { TestProject } from "vitest/node";
import { startEmbeddedPostgres } from "../../dev/embedded-postgres.js";
import { buildFunction } from "../../scripts/build.mjs";
import { buildSnapshot } from "../../scripts/snapshot.mjs";

declare module "vitest" {
  export interface ProvidedContext {
    postgresUrl: string;
    /** Each function's bundle, built for this run as the images build it. */
    functionBundles: { antaeus: string; payment: string };
    /** Each function's startup snapshot, built from its bundle by this Node, as the images do. */
    snapshotBlobs: { antaeus: string; payment: string };
    /** Where the bundles and their metafiles (`<name>.meta.json`) are. */
    bundleRoot: string;
    /** Where tests put their own files (test/support/scratch.ts); removed with the run's folder. */
    scratchRoot: string;
  }
}

/** Git-ignored: one folder per run (a run may start another run, as the test-runner test does). */
const BUILDS = fileURLToPath(new URL("../../dist/test/", import.meta.url));

/**
 * Once per run: one real PostgreSQL server (DATABASE_URL when set, else a throwaway embedded one)
 * on which each test file makes its own databases, and the functions built as the images build
 * them, which the process tests run: from their startup snapshots, as the images start them. A
 * snapshot costs about 0.3 s of CPU to build and saves about 0.03 s at each of the run's starts.
 */
export default async function setup(project: TestProject) {
  const teardown: Array<() => Promise<void>> = [];
  await removeBuildsOfEndedRuns();
  const bundleRoot = join(BUILDS, `run-${process.pid}`);
  teardown.push(() => rm(bundleRoot, { recursive: true, force: true }));
  await Promise.all([
    buildFunction("antaeus", { outRoot: bundleRoot }),
    buildFunction("payment", { outRoot: bundleRoot }),
  ]);
  project.provide("bundleRoot", bundleRoot);
  const scratchRoot = join(bundleRoot, "scratch");
  await mkdir(scratchRoot, { recursive: true });
  project.provide("scratchRoot", scratchRoot);
  const bundle = (name: string) => join(bundleRoot, name, `${name}.mjs`);
  project.provide("functionBundles", { antaeus: bundle("antaeus"), payment: bundle("payment") });
  const blob = (name: string) => {
    const path = join(bundleRoot, name, `${name}.blob`);
    buildSnapshot(bundle(name).replace(/\.mjs$/, ".snapshot.cjs"), path);
    return path;
  };
  project.provide("snapshotBlobs", { antaeus: blob("antaeus"), payment: blob("payment") });

  if (process.env.DATABASE_URL) {
    project.provide("postgresUrl", process.env.DATABASE_URL);
  } else {
    const dataDir = await mkdtemp(join(tmpdir(), "antaeus-test-pg-"));
    const server = await startEmbeddedPostgres({
      dataDir,
      persistent: false,
      fast: true,
      stopWithParent: true,
    }).catch(async (error: unknown) => {
      await rm(dataDir, { recursive: true, force: true });
      throw error;
    });
    project.provide("postgresUrl", server.url);
    teardown.push(server.stop);
  }
  return async () => {
    for (const step of teardown.reverse()) await step();
  };
}

/** A run killed before its teardown leaves its build behind; the next run removes it. */
async function removeBuildsOfEndedRuns(): Promise<void> {
  const runs = await readdir(BUILDS).catch(() => []);
  for (const run of runs) {
    const pid = Number(run.replace(/^run-/, ""));
    let alive = false;
    try {
      process.kill(pid, 0);
      alive = true;
    } catch {
      // ended
    }
    if (!alive) await rm(join(BUILDS, run), { recursive: true, force: true });
  }
}
