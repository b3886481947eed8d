import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectError } from "../support/api-error.js";
import { type InProcessSystem, inProcessSystem } from "../support/in-process.js";
import { waitForNoRunningRun } from "../support/system.js";

// Auth off (the default outside production): who may act is the auth matrix's subject
// (auth.test.ts); here, what the actions do.
let system: InProcessSystem;
beforeAll(async () => {
  system = await inProcessSystem({
    antaeus: { SEED_CUSTOMERS: "10", SEED_INVOICES_PER_CUSTOMER: "2", BILLING_CONCURRENCY: "1" },
    // One charge at a time, 150 ms each: a run stays in progress long enough to be cancelled.
    payment: { PAYMENT_LATENCY_MS: "150" },
  });
});
afterAll(() => system?.stop());

const base = () => system.url;
const act = (path: string, body: unknown) =>
  fetch(`${base()}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
const runOf = async (id: number) =>
  (await system.antaeusDb`select status, total from billing_runs where id = ${id}`)[0]!;

describe("cancelling a run", () => {
  it("takes its queued invoices out, lets the charge in flight finish, and is recorded once", async () => {
    const pay = fetch(`${base()}/rest/v1/invoices/pay`, { method: "POST" });
    // Under way once payment has a charge (Antaeus writes its verdicts a little later).
    await expect
      .poll(
        async () => (await system.ledgerDb`select count(*)::int as n from payment.charges`)[0]!.n,
        { timeout: 20_000, interval: 20 },
      )
      .toBeGreaterThan(0);
    const [{ id }] =
      (await system.antaeusDb`select id from billing_runs where status = 'RUNNING'`) as unknown as [
        { id: number },
      ];
    const first = await act(`/rest/v1/billing/runs/${id}/cancel`, { reason: "wrong price list" });
    expect(first.status).toBe(200);
    const cancelled = (await first.json()) as {
      performed: boolean;
      action: { invoicesUnqueued: number; actor: string };
    };
    expect(cancelled.performed).toBe(true);
    expect(cancelled.action.invoicesUnqueued).toBeGreaterThan(10);
    expect(cancelled.action.actor).toBe("anonymous");

    const again = await act(`/rest/v1/billing/runs/${id}/cancel`, { reason: "again" });
    expect(await again.json()).toMatchObject({
      performed: false,
      action: { reason: "wrong price list" },
    });

    expect([200, 202]).toContain((await pay).status);
    await expect.poll(async () => (await runOf(id)).status, { timeout: 20_000 }).toBe("COMPLETED");
    const attempts = (
      await system.antaeusDb`select count(distinct invoice_id)::int as n from payment_attempts where run_id = ${id}`
    )[0]!.n;
    // What it did is all it was left with: nothing charged after the cancel.
    expect((await runOf(id)).total).toBe(attempts);
    expect(attempts + cancelled.action.invoicesUnqueued).toBe(20);
    const queued =
      await system.antaeusDb`select count(*)::int as n from invoices where status = 'PENDING' and run_id is null`;
    expect(queued[0]!.n).toBe(cancelled.action.invoicesUnqueued);

    const actions = await (await fetch(`${base()}/rest/v1/billing/runs/${id}/actions`)).json();
    expect(actions).toEqual([
      expect.objectContaining({ action: "cancel_run", reason: "wrong price list" }),
    ]);
    // A completed run that was never cancelled cannot be.
    await system.antaeusDb`delete from operator_actions`;
    await expectError(
      await act(`/rest/v1/billing/runs/${id}/cancel`, { reason: "late" }),
      409,
      "run_finished",
      "completed",
    );
  });
});

describe("requeueing an invoice", () => {
  it("refuses one that does not wait for a person, one that does not exist, and no reason", async () => {
    await system.antaeusDb`update invoices set status = 'PAID' where id = 1`;
    await expectError(
      await act("/rest/v1/invoices/1/requeue", { reason: "x" }),
      409,
      "invoice_not_waiting",
      "PAID",
    );
    await expectError(
      await act("/rest/v1/invoices/999999/requeue", { reason: "x" }),
      404,
      "not_found",
      "invoice 999999",
    );
    await system.antaeusDb`update invoices set status = 'OUTCOME_UNKNOWN', attempt_key = gen_random_uuid() where id = 2`;
    for (const body of [{}, { reason: "" }, { reason: "x", extra: 1 }]) {
      await expectError(
        await act("/rest/v1/invoices/2/requeue", body),
        400,
        "invalid_body",
        "reason",
      );
    }
    const [row] = await system.antaeusDb`select status from invoices where id = 2`;
    expect(row!.status).toBe("OUTCOME_UNKNOWN");
  });

  it.each(["HARD_DECLINED", "RETRIES_EXHAUSTED", "CURRENCY_MISMATCH"])(
    "puts a %s invoice back to PENDING, its retry schedule started afresh",
    async (status) => {
      await system.antaeusDb`
        update invoices set status = ${status}, declines = 3, dunning_since = now(),
          next_retry_at = now() where id = 3`;
      const response = await act("/rest/v1/invoices/3/requeue", { reason: "card replaced" });
      expect(await response.json()).toMatchObject({
        performed: true,
        action: { previousStatus: status },
      });
      const [row] = await system.antaeusDb`
        select status, declines, dunning_since, next_retry_at from invoices where id = 3`;
      expect(row).toEqual({
        status: "PENDING",
        declines: 0,
        dunning_since: null,
        next_retry_at: null,
      });
    },
  );

  it("puts an OUTCOME_UNKNOWN invoice back to PENDING without its old key, so the next run charges it", async () => {
    const response = await act("/rest/v1/invoices/2/requeue", {
      reason: "provider ledger shows no charge",
    });
    expect(await response.json()).toMatchObject({
      performed: true,
      action: { previousStatus: "OUTCOME_UNKNOWN" },
    });
    const [row] =
      await system.antaeusDb`select status, attempt_key, run_id from invoices where id = 2`;
    expect(row).toMatchObject({ status: "PENDING", attempt_key: null, run_id: null });
    // A pay call joins a run in progress, which does not hold this invoice: start a new one.
    await waitForNoRunningRun(system);
    const pay = await fetch(`${base()}/rest/v1/invoices/pay`, { method: "POST" });
    expect([200, 202]).toContain(pay.status);
    await expect
      .poll(
        async () => (await system.antaeusDb`select status from invoices where id = 2`)[0]!.status,
        { timeout: 20_000 },
      )
      .toMatch(/^(PAID|DECLINED|HARD_DECLINED)$/);
  });
});
