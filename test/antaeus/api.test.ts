import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AntaeusConfig } from "../../functions/antaeus/config.js";
import type { Sql } from "../../functions/runtime/index.js";
import { type InProcessApp, inProcessAntaeus } from "../support/in-process.js";

/** The real Antaeus, seeded, in-process: these are statements about its routes, not its process. */
let antaeus: InProcessApp<AntaeusConfig>;
let sql: Sql;

beforeAll(async () => {
  antaeus = await inProcessAntaeus({ SEED_LAST_PERIOD: "2026-10" });
  sql = antaeus.sql;
});
afterAll(() => antaeus?.close());

const get = (path: string, init?: RequestInit) => antaeus.app.request(path, init);

async function expectError(response: Response, status: number, code: string, mentions: string) {
  expect(response.status).toBe(status);
  expect(response.headers.get("content-type")).toMatch(/^application\/json/);
  const body = (await response.json()) as { error: { code: string; message: string } };
  expect(body.error.code).toBe(code);
  expect(body.error.message).toContain(mentions);
  expect(JSON.stringify(body)).not.toMatch(/\n\s+at /); // no stack trace
}

describe("the original Antaeus API", () => {
  it('greets in plain text at / pointing to the API reference it serves, and answers "ok" at /rest/health', async () => {
    const root = await get("/");
    expect(root.status).toBe(200);
    expect(root.headers.get("content-type")).toMatch(/^text\/plain/);
    const greeting = await root.text();
    expect(greeting).toMatch(/Antaeus/);
    const reference = /see (\/\S+) for the routes/.exec(greeting)?.[1];
    expect(reference, greeting).toBeDefined();
    expect((await get(reference!)).status).toBe(200);
    const health = await get("/rest/health");
    expect(await health.json()).toBe("ok");
  });

  it("lists every invoice in the original shape, with the exact decimal amount", async () => {
    const response = await get("/rest/v1/invoices");
    expect(response.status).toBe(200);
    const text = await response.text();
    const invoices = JSON.parse(text) as Array<Record<string, unknown>>;
    expect(invoices).toHaveLength(1000);
    expect(Object.keys(invoices[0] ?? {})).toEqual(["id", "customerId", "amount", "status"]);
    const [row] = await sql<[{ amount_minor: string; currency: string }]>`
      select amount_minor, currency from invoices where id = 1`;
    const cents = BigInt(row.amount_minor);
    const decimal = `${cents / 100n}.${String(cents % 100n).padStart(2, "0")}`.replace(
      /\.?0+$/,
      "",
    );
    expect(text.startsWith(`[{"id":1,"customerId":1,"amount":{"value":${decimal}`)).toBe(true);
    expect(invoices[0]).toEqual({
      id: 1,
      customerId: 1,
      amount: { value: Number(decimal), currency: row.currency },
      status: "PENDING",
    });
    for (const invoice of invoices) {
      expect(String((invoice.amount as { value: number }).value)).toMatch(/^\d+(\.\d{1,2})?$/);
    }
  });

  it("serves one invoice and one customer by id", async () => {
    const invoice = (await (await get("/rest/v1/invoices/17")).json()) as {
      id: number;
      customerId: number;
    };
    expect(invoice.id).toBe(17);
    const customer = await (await get(`/rest/v1/customers/${invoice.customerId}`)).json();
    expect(customer).toEqual({
      id: invoice.customerId,
      currency: expect.stringMatching(/^(EUR|USD|DKK|SEK|GBP)$/),
    });
  });

  it("lists the customers, each invoiced in its own currency", async () => {
    const customers = (await (await get("/rest/v1/customers")).json()) as Array<{
      id: number;
      currency: string;
    }>;
    expect(customers).toHaveLength(100);
    const invoices = (await (await get("/rest/v1/invoices")).json()) as Array<{
      customerId: number;
      amount: { currency: string };
    }>;
    const currencyOf = new Map(customers.map((c) => [c.id, c.currency]));
    for (const invoice of invoices)
      expect(invoice.amount.currency).toBe(currencyOf.get(invoice.customerId));
  });
});

describe("filters", () => {
  it("filters invoices by status and by customer", async () => {
    await sql`update invoices set status = 'PAID' where id in (3, 4, 25)`;
    const paid = (await (await get("/rest/v1/invoices?status=PAID")).json()) as Array<{
      id: number;
    }>;
    expect(paid.map((i) => i.id)).toEqual([3, 4, 25]);
    const ofCustomer = (await (await get("/rest/v1/invoices?customerId=3")).json()) as Array<{
      customerId: number;
    }>;
    expect(ofCustomer).toHaveLength(10);
    expect(ofCustomer.every((i) => i.customerId === 3)).toBe(true);
    const both = (await (await get("/rest/v1/invoices?customerId=3&status=PAID")).json()) as Array<{
      id: number;
    }>;
    expect(both.map((i) => i.id)).toEqual([25]);
  });

  it("lists a customer's invoices, and 404s for a customer that does not exist", async () => {
    const invoices = (await (await get("/rest/v1/customers/3/invoices")).json()) as Array<{
      customerId: number;
    }>;
    expect(invoices).toHaveLength(10);
    expect(invoices.every((i) => i.customerId === 3)).toBe(true);
    await expectError(
      await get("/rest/v1/customers/4000/invoices"),
      404,
      "not_found",
      "customer 4000",
    );
  });

  it("answers an empty array when nothing matches", async () => {
    const response = await get("/rest/v1/invoices?customerId=99999");
    expect(await response.json()).toEqual([]);
  });
});

describe("bad input gets a 4xx JSON error naming the problem", () => {
  it.each([
    ["/rest/v1/invoices/abc", "invoice id"],
    ["/rest/v1/invoices/-1", "invoice id"],
    ["/rest/v1/invoices/0", "invoice id"],
    ["/rest/v1/invoices/1.5", "invoice id"],
    ["/rest/v1/invoices/2147483648", "invoice id"],
    ["/rest/v1/invoices/99999999999999999999", "invoice id"],
    ["/rest/v1/customers/x1", "customer id"],
    ["/rest/v1/invoices?customerId=abc", "customerId"],
  ])("%s → 400 invalid_id", async (path, mentions) => {
    await expectError(await get(path), 400, "invalid_id", mentions);
  });

  it("rejects an unknown status filter, and a repeated one", async () => {
    await expectError(await get("/rest/v1/invoices?status=LOST"), 400, "invalid_status", "LOST");
    await expectError(
      await get("/rest/v1/invoices?status=PAID&status=PENDING"),
      400,
      "invalid_query",
      "status",
    );
  });

  it("404s for a missing invoice or customer, in the same shape", async () => {
    await expectError(
      await get("/rest/v1/invoices/2147483647"),
      404,
      "not_found",
      "invoice 2147483647",
    );
    await expectError(await get("/rest/v1/customers/5000"), 404, "not_found", "customer 5000");
  });

  it("404s for an unknown route", async () => {
    await expectError(await get("/rest/v2/invoices"), 404, "not_found", "/rest/v2/invoices");
  });

  it("405s with Allow for a wrong method on a known route", async () => {
    for (const path of [
      "/rest/v1/invoices",
      "/rest/v1/invoices/1",
      "/rest/v1/customers/1",
      "/healthz",
    ]) {
      const response = await get(path, { method: "DELETE" });
      expect(response.headers.get("allow")).toBe("GET, HEAD");
      await expectError(response, 405, "method_not_allowed", "DELETE");
    }
  });
});

describe("probes and request ids", () => {
  it("/healthz and /readyz answer 200 once the schema is current", async () => {
    expect((await get("/healthz")).status).toBe(200);
    const ready = await get("/readyz");
    expect(ready.status).toBe(200);
  });

  it("returns the caller's X-Request-Id and logs the request under it", async () => {
    const response = await get("/rest/v1/invoices/1", {
      headers: { "X-Request-Id": "trace-abc-123" },
    });
    expect(response.headers.get("x-request-id")).toBe("trace-abc-123");
    await expect
      .poll(() => antaeus.logs.find((l) => l.requestId === "trace-abc-123"))
      .toMatchObject({
        method: "GET",
        route: "/rest/v1/invoices/:id",
        status: 200,
        durationMs: expect.any(Number),
      });
  });

  it("makes up a request id when none is given", async () => {
    const response = await get("/rest/health");
    expect(response.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  });
});
