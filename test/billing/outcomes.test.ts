import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type InProcessSystem, inProcessSystem } from "../support/in-process.js";
import { exactlyOnceViolations, pay, statusCounts } from "../support/system.js";

// Both functions in-process, on ports of their own: the run's lanes and its charges go over HTTP.
let system: InProcessSystem;
let url: string;
beforeAll(async () => {
  system = await inProcessSystem();
  url = system.url;
  // Data problems a person must fix, and an invoice for a month that has not begun.
  await system.antaeusDb`update invoices set currency = case when currency = 'EUR' then 'USD' else 'EUR' end where id = 1`;
  await system.antaeusDb`update invoices set customer_id = 999999 where id = 2`;
  await system.antaeusDb`update invoices set period = '2099-01-01' where id = 3`;
});
afterAll(() => system?.stop());

const invoice = async (id: number) =>
  (await (await fetch(`${url}/rest/v1/invoices/${id}`)).json()) as { status: string };
const attempts = async (id: number) =>
  (await (await fetch(`${url}/rest/v1/invoices/${id}/attempts`)).json()) as Array<{
    outcome: string;
    httpStatus: number | null;
    error: string | null;
  }>;

describe("what a run says about each invoice", () => {
  it("every claimed invoice ends the run in a definite status; future periods wait", async () => {
    const { body } = await pay(url);
    expect(body.total).toBe(999);
    expect(body.done).toBe(999);
    expect(body.counts.CURRENCY_MISMATCH).toBe(1);
    expect(body.counts.CUSTOMER_NOT_FOUND).toBe(1);
    expect((await invoice(3)).status).toBe("PENDING");
    const counts = await statusCounts(system);
    expect(counts.PROCESSING).toBeUndefined();
    expect(counts.PENDING).toBe(1);
  });

  it("finds a currency mismatch before calling the provider", async () => {
    expect((await invoice(1)).status).toBe("CURRENCY_MISMATCH");
    const [attempt] = await attempts(1);
    expect(attempt).toMatchObject({ outcome: "CURRENCY_MISMATCH", httpStatus: null });
    const [ledger] =
      await system.ledgerDb`select count(*)::int as n from payment.charges where invoice_id = 1`;
    expect(ledger?.n).toBe(0);
  });

  it("reports an invoice whose customer does not exist", async () => {
    expect((await invoice(2)).status).toBe("CUSTOMER_NOT_FOUND");
    expect((await attempts(2))[0]?.error).toContain("customer 999999");
  });

  it("the next run charges DECLINED invoices again and leaves the data problems for a person", async () => {
    // A loaded machine may turn a slow answer into NETWORK_ERROR: its kept key is asked first.
    const counts = await statusCounts(system);
    const { body } = await pay(url);
    expect(body.total).toBe((counts.DECLINED ?? 0) + (counts.NETWORK_ERROR ?? 0));
    expect((await invoice(1)).status).toBe("CURRENCY_MISMATCH");
    expect(await attempts(1)).toHaveLength(1);
    expect(await attempts(2)).toHaveLength(1);
    expect(await exactlyOnceViolations(system)).toEqual([]);
  });
});
