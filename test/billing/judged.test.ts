import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exactlyOnceViolations, pay, type System, startSystem } from "../support/system.js";

let system: System;
beforeAll(async () => {
  // One call per invoice is what a healthy provider sees; a deadline a loaded test machine
  // cannot miss keeps it so here (deadlines and their retries: exactly-once-provider.test.ts). The
  // defaults run the same scenario in test/containers.
  system = await startSystem({
    antaeus: { PAYMENT_TIMEOUT_MS: "20000", BILLING_LEASE_MS: "600000" },
  });
});
afterAll(() => system?.stop());

describe("the judged deployment check", () => {
  it("fresh database, seed, one pay call: 40–60% of all invoices PAID, none left PROCESSING", async () => {
    const { status, body } = await pay(system.antaeus[0]!.url);
    expect(status).toBe(200);
    expect(body).toMatchObject({
      status: "COMPLETED",
      trigger: "api",
      total: 1000,
      done: 1000,
      created: true,
    });

    const invoices = (await (
      await fetch(`${system.antaeus[0]!.url}/rest/v1/invoices`)
    ).json()) as Array<{ status: string }>;
    const paid = invoices.filter((i) => i.status === "PAID").length;
    expect(invoices).toHaveLength(1000);
    expect(paid / invoices.length).toBeGreaterThanOrEqual(0.4);
    expect(paid / invoices.length).toBeLessThanOrEqual(0.6);
    expect(invoices.filter((i) => i.status === "PROCESSING")).toHaveLength(0);
    expect(body.counts.PAID).toBe(paid);
    // A decline is soft (DECLINED, retried on the schedule) or hard (HARD_DECLINED, for a person).
    expect(body.counts.PAID! + body.counts.DECLINED! + body.counts.HARD_DECLINED!).toBe(1000);
    expect(await exactlyOnceViolations(system)).toEqual([]);
  });

  it("the run and every invoice's attempts say what happened: one call each, its outcome the invoice's status (a hard decline's is DECLINED)", async () => {
    const runs = (await (
      await fetch(`${system.antaeus[0]!.url}/rest/v1/billing/runs`)
    ).json()) as Array<{ id: number; status: string }>;
    expect(runs).toHaveLength(1);
    const mismatched = await system.antaeusDb`
      select i.id, i.status, a.outcome, a.run_id, a.attempt_number, a.http_status, a.charge_id
      from invoices i left join payment_attempts a on a.invoice_id = i.id
      where a.id is null or a.run_id <> ${runs[0]!.id}
         or (a.outcome <> i.status and not (a.outcome = 'DECLINED' and i.status = 'HARD_DECLINED'))
         or a.attempt_number <> 1 or a.http_status <> 200 or a.charge_id is null
         or a.idempotency_key is null`;
    expect(mismatched).toEqual([]);
    const [{ n }] = await system.antaeusDb<[{ n: number }]>`
      select count(*)::int as n from payment_attempts`;
    expect(n).toBe(1000);
    // As the route shows them.
    const attempts = (await (
      await fetch(`${system.antaeus[0]!.url}/rest/v1/invoices/1/attempts`)
    ).json()) as Array<Record<string, unknown>>;
    expect(attempts).toEqual([
      expect.objectContaining({
        invoiceId: 1,
        runId: runs[0]!.id,
        attemptNumber: 1,
        idempotencyKey: expect.stringMatching(/^[0-9a-f-]{36}$/),
        outcome: expect.stringMatching(/^(PAID|DECLINED)$/),
        httpStatus: 200,
        chargeId: expect.any(String),
        worker: expect.stringMatching(/\/\d+$/),
      }),
    ]);
  });

  it("a second pay call charges only the declined invoices again", async () => {
    const before = (await (
      await fetch(`${system.antaeus[0]!.url}/rest/v1/invoices?status=DECLINED`)
    ).json()) as unknown[];
    const { body } = await pay(system.antaeus[0]!.url);
    expect(body.total).toBe(before.length);
    expect(await exactlyOnceViolations(system)).toEqual([]);
  });
});

describe("metrics", () => {
  it("/metrics counts billing verdicts by outcome and times requests, in Prometheus text", async () => {
    const response = await fetch(`${system.antaeus[0]!.url}/metrics`);
    expect(response.headers.get("content-type")).toMatch(/^text\/plain/);
    const text = await response.text();
    const runs = (await (
      await fetch(`${system.antaeus[0]!.url}/rest/v1/billing/runs`)
    ).json()) as Array<{
      counts: Record<string, number>;
    }>;
    const paid = runs.reduce((sum, run) => sum + (run.counts.PAID ?? 0), 0);
    expect(text).toContain(`antaeus_billing_verdicts_total{outcome="PAID"} ${paid}`);
    expect(text).toContain('antaeus_billing_verdicts_total{outcome="CURRENCY_MISMATCH"} 0');
    expect(text).toMatch(
      /http_request_duration_seconds_count\{method="POST",route="\/rest\/v1\/invoices\/pay",status="200"\} 2/,
    );
  });
});
