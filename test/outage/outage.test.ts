import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pingDelivery } from "../support/cloudevents.js";
import { createDatabase } from "../support/database.js";
import { type PrivatePostgres, privatePostgres } from "../support/postgres-server.js";
import { type FunctionProcess, startFunction } from "../support/processes.js";

/**
 * Each function with its own PostgreSQL server, stopped while the function runs: every route
 * that needs the database answers 503 with Retry-After (a PingSource and a client retry that),
 * the process stays alive for Knative's liveness probe, and it serves again once the database
 * is back, without a restart.
 */

type Call = [label: string, path: string, init?: RequestInit];

async function expectUnavailable(fn: FunctionProcess, [label, path, init]: Call) {
  const response = await fetch(`${fn.url}${path}`, init);
  const body = await response.text();
  expect({ label, status: response.status }).toEqual({ label, status: 503 });
  expect(response.headers.get("retry-after"), label).toMatch(/^\d+$/);
  expect(response.headers.get("x-request-id"), label).toBeTruthy();
  expect(JSON.parse(body), label).toEqual({
    error: { code: "database_unavailable", message: expect.any(String) },
  });
}

/** /readyz names the dependency that is down, and nothing about where it lives or why. */
async function expectNotReady(fn: FunctionProcess) {
  const response = await fetch(`${fn.url}/readyz`);
  expect(response.status).toBe(503);
  expect(await response.json()).toEqual({ status: "unavailable", unavailable: ["database"] });
  // The log has the detail (its line arrives through a pipe, after the answer).
  await expect
    .poll(() => fn.logs.findLast((line) => line.msg === "not ready"))
    .toMatchObject({ dependency: "database", err: { code: "ECONNREFUSED" } });
}

// One server for both functions' outages: they run one after the other, and a server's start
// is most of what each costs.
let database: PrivatePostgres;
beforeAll(async () => {
  database = await privatePostgres();
});
afterAll(() => database?.remove());

const unhandled = (fn: FunctionProcess) =>
  fn.logs.filter((line) => line.level === "error" || line.level === "fatal");

/**
 * The two halves of an outage: stopped, every call in `calls` is a 503 with Retry-After, and each
 * of `alive` (routes without the database) still answers 200; started again, every call answers
 * one of `served` without the process having restarted.
 */
function outage(
  fn: () => FunctionProcess,
  database: () => PrivatePostgres,
  routes: { calls: Call[]; alive: string[]; served: number[] },
) {
  it("answers 503 with Retry-After on every database route, and is alive but not ready", async () => {
    await database().stop();
    for (const call of routes.calls) await expectUnavailable(fn(), call);
    await expectNotReady(fn());
    // What does not need the database still answers: Knative must not restart the pod for it.
    for (const path of routes.alive) {
      expect((await fetch(`${fn().url}${path}`)).status, path).toBe(200);
    }
    expect(unhandled(fn())).toEqual([]);
    expect(fn().child.exitCode).toBeNull();
  });

  it("serves again within seconds of the database's return, without a restart", async () => {
    await database().start();
    const back = performance.now();
    await expect
      .poll(async () => (await fetch(`${fn().url}/readyz`)).status, { timeout: 30_000 })
      .toBe(200);
    // The pool retries at least every second, however many queries met the outage (postgres.js
    // alone would wait up to 20 s by then: functions/runtime/process/database.ts).
    expect(performance.now() - back).toBeLessThan(5_000);
    for (const [label, path, init] of routes.calls) {
      const response = await fetch(`${fn().url}${path}`, init);
      await response.arrayBuffer();
      expect(routes.served, `${label}: ${response.status}`).toContain(response.status);
    }
    expect(unhandled(fn())).toEqual([]);
  });
}

describe("antaeus while its database is down", () => {
  let payment: FunctionProcess;
  let antaeus: FunctionProcess;

  beforeAll(async () => {
    payment = await startFunction("payment", {
      DATABASE_URL: await createDatabase("outage_ledger"),
      PAYMENT_AUTH: "off",
      PAYMENT_SEED: "1",
    });
    antaeus = await startFunction("antaeus", {
      DATABASE_URL: await database.database("antaeus"),
      PAYMENT_PROVIDER_ENDPOINT: `${payment.url}/v1/charges`,
      SEED_CUSTOMERS: "20",
      SEED_LAST_PERIOD: "2026-10",
    });
    // One run before the outage, so run and attempt routes have something to find.
    expect((await fetch(`${antaeus.url}/rest/v1/invoices/pay`, { method: "POST" })).status).toBe(
      200,
    );
  });
  afterAll(async () => {
    await antaeus?.stop();
    await payment?.stop();
  });

  outage(
    () => antaeus,
    () => database,
    {
      calls: [
        ["list invoices", "/rest/v1/invoices"],
        ["list invoices by status", "/rest/v1/invoices?status=PAID"],
        ["one invoice", "/rest/v1/invoices/1"],
        ["an invoice's attempts", "/rest/v1/invoices/1/attempts"],
        ["list customers", "/rest/v1/customers"],
        ["one customer", "/rest/v1/customers/1"],
        ["a customer's invoices", "/rest/v1/customers/1/invoices"],
        ["pay", "/rest/v1/invoices/pay", { method: "POST" }],
        [
          "pay, from the PingSource",
          "/rest/v1/invoices/pay",
          pingDelivery({ source: "antaeus/monthly-billing", id: "outage-1" }),
        ],
        ["list runs", "/rest/v1/billing/runs"],
        ["one run", "/rest/v1/billing/runs/1"],
        [
          "work a lane of a run",
          "/rest/v1/billing/runs/1/lanes/1?holder=00000000-0000-4000-8000-000000000000",
          { method: "POST" },
        ],
        [
          "resume, from the watchdog",
          "/rest/v1/billing/resume",
          pingDelivery({ source: "antaeus/billing-watchdog", id: "outage-2" }),
        ],
      ],
      alive: ["/healthz", "/", "/rest/health", "/metrics"],
      served: [200, 202],
    },
  );
});

describe("payment while its database is down", () => {
  let payment: FunctionProcess;

  beforeAll(async () => {
    payment = await startFunction("payment", {
      DATABASE_URL: await database.database("payment"),
      PAYMENT_AUTH: "off",
      PAYMENT_SEED: "1",
    });
  });
  afterAll(async () => {
    await payment?.stop();
  });

  const key = "9b0b7f4e-0d6a-4f59-a2a4-8d3f2f1b6c01";
  outage(
    () => payment,
    () => database,
    {
      calls: [
        [
          "charge",
          "/v1/charges",
          {
            method: "POST",
            headers: { "content-type": "application/json", "idempotency-key": key },
            body: JSON.stringify({
              customer_id: 1,
              invoice_id: 1,
              currency: "EUR",
              value: "12.50",
            }),
          },
        ],
        ["look a charge up by key", `/v1/charges?idempotency_key=${key}`],
        ["list an invoice's charges", "/v1/charges?invoice_id=1"],
      ],
      alive: ["/healthz", "/metrics"],
      served: [200],
    },
  );
});
