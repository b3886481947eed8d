import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { AntaeusConfig } from "../../functions/antaeus/config.js";
import type { Sql } from "../../functions/runtime/index.js";
import { antaeusIdentity } from "../support/antaeus-identity.js";
import { pingDelivery } from "../support/cloudevents.js";
import { type InProcessApp, inProcessAntaeus } from "../support/in-process.js";
import { type StandIn, startStandIn } from "../support/stand-in.js";

/**
 * The challenge profile opens POST /rest/v1/invoices/pay to anyone, as the original did. What
 * anyone may do with it is bill what the schedule would bill; charging a soft decline before its
 * retry is due is for a person with the billing role. What a call bills is what its run queues:
 * the run's lanes charge exactly that (test/billing), and here, in-process, they have no port to
 * be started on, so the pay call answers the run as it stands after a short budget.
 */
let identity: Awaited<ReturnType<typeof antaeusIdentity>>;
let provider: StandIn;
let antaeus: InProcessApp<AntaeusConfig>;
let sql: Sql;

beforeAll(async () => {
  identity = await antaeusIdentity();
  provider = await startStandIn(() => ({ status: 200, body: { result: true } }));
  antaeus = await inProcessAntaeus({
    ...identity.env,
    ANTAEUS_AUTH_OPEN_ROUTES: "original",
    SEED_ENABLED: "false",
    PAYMENT_PROVIDER_ENDPOINT: `${provider.url}/v1/charges`,
    BILLING_REQUEST_BUDGET_MS: "300",
  });
  sql = antaeus.sql;
  await sql`insert into customers (currency) values ('EUR')`;
});
afterAll(async () => {
  await antaeus?.close();
  await provider?.close();
  await identity?.close();
});

/** Three invoices declined a day ago, their next retry due tomorrow: nothing is due today. */
beforeEach(async () => {
  await sql`delete from invoices`;
  await sql`
    insert into invoices (customer_id, currency, amount_minor, period, status, declines, dunning_since, next_retry_at)
    select 1, 'EUR', 1000 + n, '2026-01-01', 'DECLINED', 1, now() - interval '1 day', now() + interval '1 day'
    from generate_series(1, 3) as n`;
  provider.calls.length = 0;
});

const pay = (init: RequestInit = {}) =>
  antaeus.app.request("/rest/v1/invoices/pay", { method: "POST", ...init });
/** The invoices a run holds, queued for its lanes or charged. */
const queuedIn = async (runId: number) =>
  (await sql<[{ n: number }]>`select count(*)::int as n from invoices where run_id = ${runId}`)[0]
    .n;
const count = async (table: "billing_runs" | "billing_triggers" | "billing_events") =>
  (await sql<[{ n: number }]>`select count(*)::int as n from ${sql(table)}`)[0].n;

describe("an anonymous pay call (the challenge profile)", () => {
  it("bills as the schedule does: a soft decline whose retry is not due is not charged", async () => {
    await pay(); // the first run there has ever been, empty
    const response = await pay();
    expect(response.status).toBe(200);
    const run = (await response.json()) as { id: number; total: number };
    expect(run.total).toBe(0);
    expect(await queuedIn(run.id)).toBe(0);
    expect(provider.calls).toEqual([]);
    const statuses = await sql`select distinct status from invoices`;
    expect(statuses).toEqual([{ status: "DECLINED" }]);
  });

  it("with nothing due, answers the latest run instead of starting an empty one, call after call", async () => {
    const latest = (await (await pay()).json()) as { id: number };
    const [runs, events] = [await count("billing_runs"), await count("billing_events")];
    for (let i = 0; i < 5; i++) {
      const response = await pay();
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({ id: latest.id, created: false });
    }
    expect(await count("billing_runs")).toBe(runs);
    // No run_completed per call, nor payment-failed events for invoices not charged.
    expect(await count("billing_events")).toBe(events);
  });

  it("a PingSource-shaped event with nothing due: one empty run a month at most, no row per event", async () => {
    await pay();
    const [runs, triggers] = [await count("billing_runs"), await count("billing_triggers")];
    for (let i = 0; i < 5; i++) {
      const event = pingDelivery({ source: "antaeus/monthly-billing", id: `forged-${i}` });
      expect((await antaeus.app.request("/rest/v1/invoices/pay", event)).status).toBe(200);
    }
    // The month's scheduled run, empty (its start is what the monthly alert watches), and no more.
    expect(await count("billing_runs")).toBe(runs + 1);
    expect(await count("billing_triggers")).toBeLessThanOrEqual(triggers + 1);
  });
});

describe("a pay call by a person with the billing role", () => {
  it("charges the soft declines now, whether or not their retry is due", async () => {
    const billing = await identity.companyToken("alice@example.com", ["billing"]);
    const response = await pay({ headers: { authorization: `Bearer ${billing}` } });
    expect(response.status).toBe(202);
    const run = (await response.json()) as { id: number; total: number; status: string };
    expect(run).toMatchObject({ total: 3, status: "RUNNING" });
    expect(await queuedIn(run.id)).toBe(3);
  });

  it("with a token that does not verify: 401, not an anonymous call", async () => {
    const expired = await identity.companyToken("alice@example.com", ["billing"], { exp: 1 });
    const response = await pay({ headers: { authorization: `Bearer ${expired}` } });
    expect(response.status).toBe(401);
    expect(provider.calls).toEqual([]);
  });
});
