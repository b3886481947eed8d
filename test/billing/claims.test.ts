import { describe, expect, it } from "vitest";
import { exactlyOnceViolations, pay, startFrontedSystem, statusCounts } from "../support/system.js";

describe("claiming invoices", () => {
  it("goes around an invoice another transaction holds locked (SKIP LOCKED): the rest of the run is charged meanwhile", async () => {
    // The first answers are held, so the run is certainly under way, with most of its invoices
    // still queued, when another transaction locks the last of them.
    const system = await startFrontedSystem({
      antaeus: { SEED_CUSTOMERS: "5", SEED_INVOICES_PER_CUSTOMER: "10", BILLING_CONCURRENCY: "4" },
    });
    const { gate } = system;
    gate.shut();
    let unlock = () => {};
    try {
      const paying = pay(system.antaeus[0]!.url);
      await expect
        .poll(() => gate.held, { timeout: 30_000, interval: 50 })
        .toBeGreaterThanOrEqual(4);

      // A person's transaction (or a stuck one) holds invoice 50 while the run goes on.
      const unlocked = new Promise<void>((resolve) => {
        unlock = resolve;
      });
      let locked = () => {};
      const isLocked = new Promise<void>((resolve) => {
        locked = resolve;
      });
      const holding = system.antaeusDb.begin(async (tx) => {
        await tx`select id from invoices where id = 50 for update`;
        locked();
        await unlocked;
      });
      await isLocked;
      gate.release();

      await expect
        .poll(
          async () => {
            const counts = await statusCounts(system);
            return (counts.PAID ?? 0) + (counts.DECLINED ?? 0) + (counts.HARD_DECLINED ?? 0);
          },
          { timeout: 30_000, interval: 100 },
        )
        .toBe(49);
      const [held] = await system.antaeusDb`select status, run_id from invoices where id = 50`;
      expect(held).toMatchObject({ status: "PENDING", run_id: expect.any(Number) });

      unlock();
      await holding;
      const { body } = await paying;
      expect(body).toMatchObject({ status: "COMPLETED", total: 50, done: 50 });
      expect(await exactlyOnceViolations(system)).toEqual([]);
    } finally {
      unlock();
      await system.stop();
    }
  });
});
