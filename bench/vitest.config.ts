import { defineConfig } from "vitest/config";

// `npm run bench:dunning`: figures printed by a run of the real functions, not a test suite.
export default defineConfig({
  test: {
    include: ["bench/**/*.figures.ts"],
    globalSetup: ["test/support/global-setup.ts"],
    testTimeout: 600_000,
    hookTimeout: 120_000,
  },
});
