import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

// `npm run test:benches`: every `npm run bench*` script at its tiny size (test/benches/). Apart
// from `npm test` because each bench builds the bundles into dist/ and runs the functions, about
// half a minute in all; `.ci/run` runs it after the suite. Each bench starts its own PostgreSQL.
export default defineConfig({
  root: fileURLToPath(new URL("../..", import.meta.url)),
  test: {
    include: ["test/benches/benches.test.ts"],
    testTimeout: 180_000,
    maxWorkers: 1,
    fileParallelism: false,
  },
});
