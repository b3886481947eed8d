import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // A module's own tests sit beside it; test/ holds the rest (the apps in-process, processes).
    include: ["test/**/*.test.ts", "functions/**/*.test.ts", "dev/**/*.test.ts"],
    // Their own commands: `npm run test:containers`, `npm run test:benches`.
    exclude: ["test/containers/**", "test/benches/benches.test.ts"],
    globalSetup: ["test/support/global-setup.ts"],
    // Files take turns in the same three workers instead of a new process each: 104 files each
    // loading vitest and its module graph again cost 20-30 s of CPU per run. Sharing is safe
    // because no file changes what the next one sees (no stubbed globals or env, no vi.mock,
    // spies and fake timers restored, no mutable module-level state in the functions or the
    // support modules), and left-behind.ts fails a file that leaves a process or a socket open.
    isolate: false,
    setupFiles: ["test/support/left-behind.ts"],
    // A ceiling against a hang, not a speed check: tests wait on conditions, and a loaded
    // machine makes a billing test several times slower than a quiet one.
    testTimeout: 180_000,
    hookTimeout: 120_000,
    // Three files at a time on a 2-core machine: many tests mostly wait (leases, Retry-After,
    // paced calls), and a third file fills the cores while they do. Two leave a third of the
    // CPU idle; four add contention and no speed.
    maxWorkers: 3,
  },
});
