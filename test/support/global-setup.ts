import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import postgres from "postgres";
import type { TestProject } from "vitest/node";
import { startEmbeddedPostgres } from "../../dev/embedded-postgres.js";
import { buildFunction } from "../../scripts/build.mjs";
import { databaseUrl } from "./database.js";

declare module "vitest" {
  export interface ProvidedContext {
    postgresUrl: string;
    /** Each function's bundle, built for this run as the images build it. */
    functionBundles: { antaeus: string; payment: string };
    /** Each function's startup snapshot, built from its bundle by this Node, as the images do. */
    snapshotBlobs: { antaeus: string; payment: string };
    /** Where the bundles and their metafiles (`<name>.meta.json`) are. */
    bundleRoot: string;
    /** A database per function holding its migrations, which `createDatabase` copies. */
    migratedDatabases: { antaeus: string; payment: string };
    /** Where tests put their own files (test/support/scratch.ts); removed with the run's folder. */
    scratchRoot: string;
  }
}

/** Git-ignored: one folder per run (a run may start another run, as the test-runner test does). */
const BUILDS = fileURLToPath(new URL("../../dist/test/", import.meta.url));
const SNAPSHOT = fileURLToPath(new URL("../../scripts/snapshot.mjs", import.meta.url));
const run = (command: string, args: string[], env: Record<string, string>) =>
  promisify(execFile)(command, args, { env: { PATH: process.env.PATH ?? "", ...env } });

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
  // Each step starts as soon as what it needs is there: the server comes up while the functions
  // build; the snapshots build while the migrate commands run.
  const bundleOf = (name: string) => join(bundleRoot, name, `${name}.mjs`);
  const server = testServer(teardown);
  const built = Promise.all([
    buildFunction("antaeus", { outRoot: bundleRoot }),
    buildFunction("payment", { outRoot: bundleRoot }),
  ]).then(() => ({ antaeus: bundleOf("antaeus"), payment: bundleOf("payment") }));
  const snapshots = built.then(async (bundles) => {
    const [antaeus, payment] = await Promise.all(
      [bundles.antaeus, bundles.payment].map(snapshotOf),
    );
    return { antaeus: antaeus!, payment: payment! };
  });
  const migrated = Promise.all([server, built]).then(([url]) =>
    migratedDatabases(url, bundleRoot, teardown),
  );
  const [postgresUrl, bundles, blobs, databases] = await Promise.all([
    server,
    built,
    snapshots,
    migrated,
  ]);
  project.provide("bundleRoot", bundleRoot);
  const scratchRoot = join(bundleRoot, "scratch");
  await mkdir(scratchRoot, { recursive: true });
  project.provide("scratchRoot", scratchRoot);
  project.provide("functionBundles", bundles);
  project.provide("snapshotBlobs", blobs);
  project.provide("postgresUrl", postgresUrl);
  project.provide("migratedDatabases", databases);
  return async () => {
    for (const step of teardown.reverse()) await step();
  };
}

/**
 * A bundle's startup snapshot, beside it, by scripts/snapshot.mjs as the Dockerfiles run it: a
 * process of its own, so that the two snapshots and the migrations build at once.
 */
async function snapshotOf(bundle: string): Promise<string> {
  const blob = bundle.replace(/\.mjs$/, ".blob");
  await run(process.execPath, [SNAPSHOT, bundle.replace(/\.mjs$/, ".snapshot.cjs"), blob], {});
  return blob;
}

/** DATABASE_URL when set, else a throwaway embedded server that stops with this process. */
async function testServer(teardown: Array<() => Promise<void>>): Promise<string> {
  if (process.env.DATABASE_URL) return process.env.DATABASE_URL;
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
  teardown.push(server.stop);
  return server.url;
}

/**
 * A database per function migrated by the function's own migrate command (the bundle's
 * migrate.mjs, as a Kubernetes Job runs it), which the tests copy: a copy costs the server what
 * an empty database does, and spares each start the migrations (about 0.05 s of CPU for Antaeus,
 * most of it the server's). Starts on an empty database are still tested where that is the point.
 */
async function migratedDatabases(
  serverUrl: string,
  bundleRoot: string,
  teardown: Array<() => Promise<void>>,
): Promise<{ antaeus: string; payment: string }> {
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
  const names = {
    antaeus: `antaeus_migrated_${process.pid}`,
    payment: `payment_migrated_${process.pid}`,
  };
  teardown.push(async () => {
    for (const name of Object.values(names)) await admin`drop database if exists ${admin(name)}`;
    await admin.end();
  });
  await Promise.all(
    Object.entries(names).map(async ([fn, name]) => {
      await admin`create database ${admin(name)}`;
      await run(process.execPath, [join(bundleRoot, fn, "migrate.mjs")], {
        PATH: process.env.PATH ?? "",
        DATABASE_URL: databaseUrl(serverUrl, name),
        LOG_LEVEL: "warn",
        PAYMENT_AUTH: "off",
      });
    }),
  );
  return names;
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
