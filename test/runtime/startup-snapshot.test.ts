import { statSync } from "node:fs";
import { afterAll, describe, expect, inject, it } from "vitest";
import { createDatabase } from "../support/database.js";
import { type FunctionProcess, startFunction } from "../support/processes.js";
import { exactlyOnceViolations, pay, startSystem, statusCounts } from "../support/system.js";

// The images start each function from a V8 startup snapshot of its modules (Dockerfile.*,
// scripts/snapshot.mjs), built by their own Node, and so does every process test: the global
// setup builds the snapshots with the test's own Node. The container suite runs the images.
describe("a function started from its startup snapshot", () => {
  const started: FunctionProcess[] = [];
  afterAll(async () => {
    await Promise.all(started.map((fn) => fn.stop()));
  });

  it("each start is its own: the clock, ids and the process start time are read at start, not when the snapshot was built", async () => {
    const builtAtSeconds = statSync(inject("snapshotBlobs").payment).mtimeMs / 1000;
    // process_start_time_seconds is whole seconds: start at least a second after the build.
    const wait = builtAtSeconds + 1.5 - Date.now() / 1000;
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait * 1000));
    const env = { DATABASE_URL: await createDatabase("snapshot_starts"), PAYMENT_AUTH: "off" };
    const first = await startFunction("payment", env);
    started.push(first);
    const second = await startFunction("payment", env);
    started.push(second);

    const metrics = await (await fetch(`${first.url}/metrics`)).text();
    const startTime = Number(/^process_start_time_seconds (\d+)$/m.exec(metrics)?.[1]);
    expect(startTime).toBeGreaterThanOrEqual(Math.round(builtAtSeconds) + 1);
    expect(startTime).toBeLessThanOrEqual(Date.now() / 1000 + 1);

    // Request ids are random UUIDs: two processes from one snapshot must not draw alike.
    const ids = await Promise.all(
      [first, second].map(
        async (fn) => (await fetch(`${fn.url}/readyz`)).headers.get("x-request-id") ?? "",
      ),
    );
    expect(ids[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(ids[0]).not.toBe(ids[1]);
  });
});

// The images' other entry (args ["/app/<fn>.mjs"]): the same function from its bundle.
describe("a function started from its bundle", () => {
  it("bills the judged way: payment and Antaeus from their bundles, a pay run settles every invoice once, and both exit 0 on SIGTERM with their last line written", async () => {
    const system = await startSystem({ antaeus: { SEED_CUSTOMERS: "20" }, bundle: true });
    try {
      for (const fn of [system.payment, ...system.antaeus]) {
        expect((await fetch(`${fn.url}/readyz`)).status).toBe(200);
      }
      const { status, body } = await pay(system.antaeus[0]!.url);
      expect(status).toBe(200);
      expect(body.status).toBe("COMPLETED");
      expect(body.done).toBe(body.total);
      // Payment's draws succeed half the time: some paid, some declined, each paid one once.
      const counts = await statusCounts(system);
      expect(counts.PAID).toBe(body.counts.PAID);
      expect(counts.PAID).toBeGreaterThan(0);
      expect(counts.PAID).toBeLessThan(body.total);
      expect(await exactlyOnceViolations(system)).toEqual([]);

      for (const fn of [...system.antaeus, system.payment]) {
        expect(await fn.stop("SIGTERM")).toEqual({ code: 0, signal: null });
        expect(fn.logs.at(-1)?.msg).toBe("stopped");
      }
    } finally {
      await system.stop();
    }
  });
});
