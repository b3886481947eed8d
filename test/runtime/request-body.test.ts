import { randomUUID } from "node:crypto";
import { Readable } from "node:stream";
import { Agent, request } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pingDelivery } from "../support/cloudevents.js";
import { createDatabase } from "../support/database.js";
import { type FunctionProcess, startFunction } from "../support/processes.js";
import { exchange, hangUpMidRequest } from "../support/raw-http.js";

/** The largest body Antaeus takes: the CloudEvents spec's 64 KiB event size (see app.ts). */
const ANTAEUS_LIMIT = 64 * 1024;

let antaeus: FunctionProcess;
let payment: FunctionProcess;
beforeAll(async () => {
  [antaeus, payment] = await Promise.all([
    createDatabase("body_antaeus").then((url) =>
      startFunction("antaeus", { DATABASE_URL: url, SEED_CUSTOMERS: "5" }),
    ),
    createDatabase("body_payment").then((url) =>
      startFunction("payment", { DATABASE_URL: url, PAYMENT_AUTH: "off" }),
    ),
  ]);
});
afterAll(async () => {
  await Promise.all([antaeus?.stop(), payment?.stop()]);
});

const watchdogEvent = (data: string) =>
  pingDelivery({ source: "antaeus/billing-watchdog", id: randomUUID(), data });

async function expectTooLarge(response: Response) {
  expect(response.status).toBe(413);
  expect(response.headers.get("x-request-id")).toBeTruthy();
  expect(await response.json()).toEqual({
    error: { code: "payload_too_large", message: `the body exceeds ${ANTAEUS_LIMIT} bytes` },
  });
}

/** A body sent in chunks without a declared length (Transfer-Encoding: chunked). */
function chunked(size: number): RequestInit {
  const chunk = new TextEncoder().encode(" ".repeat(4096));
  let sent = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent >= size) return controller.close();
      const part = chunk.subarray(0, Math.min(chunk.length, size - sent));
      sent += part.length;
      controller.enqueue(part);
    },
  });
  return { body, duplex: "half" } as RequestInit;
}

describe("Antaeus caps request bodies at 64 KiB on every route", () => {
  const routes: Array<[string, Record<string, string>]> = [
    ["/rest/v1/invoices/pay", watchdogEvent("").headers],
    ["/rest/v1/billing/resume", watchdogEvent("").headers],
    ["/rest/v1/billing/runs/1/lanes/1?holder=00000000-0000-4000-8000-000000000000", {}],
    ["/rest/v1/invoices", {}],
    ["/rest/v1/customers/1", {}],
    ["/no/such/route", {}],
  ];

  it.each(routes)("%s: 413 for a declared body one byte over", async (path, headers) => {
    const response = await fetch(`${antaeus.url}${path}`, {
      method: "POST",
      headers,
      body: " ".repeat(ANTAEUS_LIMIT + 1),
    });
    await expectTooLarge(response);
  });

  it.each(routes)(
    "%s: 413 for a chunked body over, without reading it all",
    async (path, headers) => {
      const response = await fetch(`${antaeus.url}${path}`, {
        method: "POST",
        headers,
        ...chunked(8 * 1024 * 1024),
      });
      await expectTooLarge(response);
    },
  );

  it("after refusing a chunked body, serves the next request on the same connection", async () => {
    const oneConnection = new Agent({ connections: 1 });
    try {
      const megabyte = Buffer.alloc(2 ** 20, " ");
      const refused = await request(`${antaeus.url}/rest/v1/billing/resume`, {
        method: "POST",
        headers: watchdogEvent("").headers,
        body: Readable.from([megabyte, megabyte]),
        dispatcher: oneConnection,
      });
      expect(refused.statusCode).toBe(413);
      await refused.body.text();
      const next = await request(`${antaeus.url}/healthz`, { dispatcher: oneConnection });
      expect(next.statusCode).toBe(200);
      await next.body.text();
    } finally {
      await oneConnection.close();
    }
  });

  it("takes a CloudEvent whose data is exactly 64 KiB, declared or chunked", async () => {
    const data = `{"reason":"resume"}`.padEnd(ANTAEUS_LIMIT, " ");
    const declared = await fetch(`${antaeus.url}/rest/v1/billing/resume`, watchdogEvent(data));
    expect(declared.status).toBe(200);
    const streamed = await fetch(`${antaeus.url}/rest/v1/billing/resume`, {
      ...watchdogEvent(""),
      ...chunked(ANTAEUS_LIMIT),
    });
    expect(streamed.status).toBe(200);
  });
});

describe("payment, whose charge route has a cap of its own besides the shell's", () => {
  it("takes a chunked charge", async () => {
    const charge = JSON.stringify({ customer_id: 1, currency: "EUR", value: "10.00" });
    const response = await request(`${payment.url}/v1/charges`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: Readable.from([Buffer.from(charge)]),
      headersTimeout: 10_000,
    });
    expect(response.statusCode).toBe(200);
    expect(await response.body.json()).toMatchObject({ result: expect.any(Boolean) });
  });
});

describe("a client that hangs up mid-body is the client's doing, not a database outage", () => {
  const cases: Array<[string, () => FunctionProcess, string, Record<string, string>]> = [
    ["antaeus pay", () => antaeus, "/rest/v1/invoices/pay", watchdogEvent("").headers],
    ["antaeus resume", () => antaeus, "/rest/v1/billing/resume", watchdogEvent("").headers],
    ["payment charge", () => payment, "/v1/charges", { "content-type": "application/json" }],
  ];

  for (const framing of ["Content-Length: 1000", "Transfer-Encoding: chunked"]) {
    it.each(cases)(`%s, ${framing}`, async (_, fn, path, headers) => {
      const requestId = `hang-up-${randomUUID()}`;
      const head = [
        `POST ${path} HTTP/1.1`,
        "Host: localhost",
        `X-Request-Id: ${requestId}`,
        framing,
        ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
      ].join("\r\n");
      const partial = framing.startsWith("Content") ? '{"customer_id":' : 'f\r\n{"customer_id":';
      await hangUpMidRequest(fn().port, `${head}\r\n\r\n${partial}`);
      await expect
        .poll(() =>
          fn().logs.find((line) => line.requestId === requestId && line.msg === "request"),
        )
        .toMatchObject({ status: 400 });
      const lines = fn().logs.filter((line) => line.requestId === requestId);
      expect(lines.map((line) => line.msg)).not.toContain("database unavailable");
      expect(lines.filter((line) => line.level === "error")).toEqual([]);
    });
  }
});

/** Every GET route a function declares in its OpenAPI document, with 1 for each path parameter. */
async function getRoutes(fn: FunctionProcess): Promise<string[]> {
  const document = (await (await fetch(`${fn.url}/openapi.json`)).json()) as {
    paths: Record<string, Record<string, unknown>>;
  };
  return Object.entries(document.paths)
    .filter(([, operations]) => "get" in operations)
    .map(([path]) => path.replace(/\{\w+\}/g, "1"));
}

describe("a GET or HEAD with a body is answered as without one (RFC 9110 section 9.3.1: the body has no meaning), on every route", () => {
  const framings: Array<[string, (head: string) => string]> = [
    ["Content-Length", (head) => `${head}Content-Length: 2\r\n\r\n{}`],
    ["chunked", (head) => `${head}Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n`],
  ];
  it.each([
    ["antaeus", () => antaeus],
    ["payment", () => payment],
  ])("%s", async (_, fn) => {
    const routes = await getRoutes(fn());
    expect(routes).toEqual(expect.arrayContaining(["/healthz", "/readyz"]));
    for (const path of routes) {
      for (const method of ["GET", "HEAD", "TRACE"]) {
        const head = `${method} ${path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n`;
        const send = async (bytes: string) => {
          const { responses } = await exchange(fn().port, bytes, {
            methods: [method],
            expected: 1,
          });
          return responses[0]?.status;
        };
        const plain = await send(`${head}\r\n`);
        expect(plain, `${method} ${path}`).toBeLessThan(500);
        for (const [framing, withBody] of framings) {
          expect(await send(withBody(head)), `${method} ${path} with a ${framing} body`).toBe(
            plain,
          );
        }
      }
    }
  });
});
