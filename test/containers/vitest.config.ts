import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

// The container suite: `vitest run --config test/containers/vitest.config.ts`. Separate from the
// default run because it builds images and needs a container engine. It starts its own
// PostgreSQL, so it has no global setup.
export default defineConfig({
  root: fileURLToPath(new URL("../..", import.meta.url)),
  test: {
    include: ["test/containers/**/*.test.ts"],
    // Two image builds and a billing run through containers, one file at a time.
    testTimeout: 300_000,
    hookTimeout: 900_000,
    maxWorkers: 1,
    fileParallelism: false,
  },
});
