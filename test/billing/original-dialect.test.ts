import { createServer as createHttpServer, type Server } from "node:http";
import { type AddressInfo, createServer as createTcpServer } from "node:net";
import { afterAll, describe, expect, it } from "vitest";
import { loadAntaeusConfig } from "../../functions/antaeus/config.js";
import { mulberry32 } from "../../functions/antaeus/data/seed.js";
import { createDatabase, openSql } from "../support/database.js";
import { type FunctionProcess, startFunction } from "../support/processes.js";
import type { RunBody } from "../support/system.js";
import { ORIGINAL_HEADER_LINES, ORIGINAL_REQUESTS } from "./original-client.js";

/**
 * Antaeus with PAYMENT_PROVIDER_DIALECT=original against payment services written for the
 * original challenge. We cannot run theirs here: each stand-in answers as such a service does,
 * on a local port, and counts the requests it receives per customer. Every seeded customer has
 * exactly one invoice, so a customer's count is its invoice's.
 */

const running: Array<{ close: () => unknown }> = [];
afterAll(async () => {
  for (const thing of running.reverse()) await thing.close();
});

async function startAntaeus(endpoint: string, customers: number, env: Record<string, string> = {}) {
  const databaseUrl = await createDatabase("original");
  const antaeus = await startFunction("antaeus", {
    DATABASE_URL: databaseUrl,
    SEED_CUSTOMERS: String(customers),
    SEED_INVOICES_PER_CUSTOMER: "1",
    SEED_LAST_PERIOD: "2026-10",
    PAYMENT_PROVIDER_ENDPOINT: endpoint,
    PAYMENT_PROVIDER_DIALECT: "original",
    ...env,
  });
  const sql = openSql(databaseUrl);
  running.push({ close: () => antaeus.stop() }, { close: () => sql.end() });
  return { antaeus, sql };
}

const pay = async (antaeus: FunctionProcess) =>
  (await (
    await fetch(`${antaeus.url}/rest/v1/invoices/pay`, { method: "POST" })
  ).json()) as RunBody;

const statusCounts = async (sql: ReturnType<typeof openSql>) =>
  Object.fromEntries(
    (
      await sql<Array<{ status: string; n: number }>>`
        select status, count(*)::int as n from invoices group by status`
    ).map((row) => [row.status, row.n]),
  ) as Record<string, number>;

interface StandIn {
  url: string;
  /** Requests received, by customer_id. */
  requests: Map<number, number>;
  /** Successful charges made, by customer_id. */
  charged: Map<number, number>;
}

type Reply = { status: number; body: string; delayMs?: number };

/** An HTTP server in the style of the original challenge's payment services. */
async function standIn(decide: (body: Record<string, unknown>) => Reply & { charged: boolean }) {
  const requests = new Map<number, number>();
  const charged = new Map<number, number>();
  const server: Server = createHttpServer((request, response) => {
    let text = "";
    request.on("data", (chunk) => (text += chunk));
    request.on("end", () => {
      const body = JSON.parse(text) as Record<string, unknown>;
      const customer = Number(body.customer_id);
      requests.set(customer, (requests.get(customer) ?? 0) + 1);
      const reply = decide(body);
      if (reply.charged) charged.set(customer, (charged.get(customer) ?? 0) + 1);
      const send = () => {
        if (response.destroyed) return;
        response.writeHead(reply.status, { "content-type": "application/json" });
        response.end(reply.body);
      };
      if (reply.delayMs) setTimeout(send, reply.delayMs);
      else send();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  running.push({
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(resolve));
    },
  });
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, requests, charged } satisfies StandIn;
}

const maxOf = (counts: Map<number, number>) => Math.max(0, ...counts.values());

describe("the original dialect, byte for byte", () => {
  it("sends the original client's exact headers and body, to the bare endpoint URL", async () => {
    const captured: Array<{ head: string[]; body: string }> = [];
    // A raw TCP listener: what arrives is exactly what Antaeus wrote, nothing normalised.
    const server = createTcpServer((socket) => {
      let buffer = Buffer.alloc(0);
      socket.on("data", (chunk) => {
        buffer = Buffer.concat([buffer, chunk]);
        for (;;) {
          const end = buffer.indexOf("\r\n\r\n");
          if (end < 0) return;
          const head = buffer.subarray(0, end).toString("latin1").split("\r\n");
          const length = Number(
            head.find((line) => /^content-length:/i.test(line))?.split(":")[1] ?? 0,
          );
          if (buffer.length < end + 4 + length) return;
          captured.push({ head, body: buffer.subarray(end + 4, end + 4 + length).toString() });
          buffer = buffer.subarray(end + 4 + length);
          socket.write(
            'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 15\r\n\r\n{"result":true}',
          );
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    running.push({ close: () => new Promise((resolve) => server.close(resolve)) });
    const { port } = server.address() as AddressInfo;
    const { antaeus, sql } = await startAntaeus(`http://127.0.0.1:${port}`, 3);
    for (const fixture of ORIGINAL_REQUESTS) {
      await sql`update invoices set amount_minor = ${fixture.amountMinor.toString()}
                where customer_id = ${fixture.customerId}`;
    }

    const run = await pay(antaeus);
    expect(run.counts.PAID).toBe(3);
    expect(captured).toHaveLength(3);
    for (const fixture of ORIGINAL_REQUESTS) {
      const request = captured.find((c) => c.body.includes(`"customer_id":${fixture.customerId},`));
      expect(request?.body).toBe(fixture.body);
      const [requestLine, ...headers] = request!.head;
      expect(requestLine).toBe("POST / HTTP/1.1");
      const khttp = new Set(ORIGINAL_HEADER_LINES.map((line) => line.split(":")[0]));
      expect(headers.filter((line) => khttp.has(line.split(":")[0]!))).toEqual(
        ORIGINAL_HEADER_LINES,
      );
      // The transport's own lines, and nothing else: no Idempotency-Key, no Authorization.
      expect(
        headers
          .filter((line) => !khttp.has(line.split(":")[0]!))
          .map((line) => line.toLowerCase())
          .sort(),
      ).toEqual(
        [
          "connection: keep-alive",
          `content-length: ${Buffer.byteLength(fixture.body)}`,
          `host: 127.0.0.1:${port}`,
        ].sort(),
      );
    }
  });

  it("refuses settings the original's request cannot honour", () => {
    const base = { PAYMENT_PROVIDER_DIALECT: "original" };
    expect(() => loadAntaeusConfig({ ...base, PAYMENT_PROVIDER_IDEMPOTENT: "true" })).toThrow(
      /PAYMENT_PROVIDER_IDEMPOTENT: cannot be true/,
    );
    expect(() => loadAntaeusConfig({ ...base, PAYMENT_TOKEN_FILE: "/tmp/token" })).toThrow(
      /PAYMENT_TOKEN_FILE: is not sent/,
    );
    expect(loadAntaeusConfig(base).billing).toMatchObject({
      dialect: "original",
      idempotent: false,
    });
    expect(loadAntaeusConfig({}).billing).toMatchObject({ dialect: "v1", idempotent: true });
  });
});

describe("with a provider that ignores keys, only what never left is retried", () => {
  it("a refused connection is retried and ends NETWORK_ERROR (the next run charges it), never OUTCOME_UNKNOWN", async () => {
    // Nothing listens on a port we bound and closed: every connection is refused.
    const probe = createTcpServer();
    await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
    const { port } = probe.address() as AddressInfo;
    await new Promise((resolve) => probe.close(resolve));
    const { antaeus, sql } = await startAntaeus(`http://127.0.0.1:${port}`, 3, {
      PAYMENT_RETRIES: "2",
    });
    const run = await pay(antaeus);
    expect(run.counts).toMatchObject({ NETWORK_ERROR: 3, OUTCOME_UNKNOWN: 0 });
    const attempts = await sql<Array<{ outcome: string; error: string }>>`
      select outcome, error from payment_attempts`;
    expect(attempts).toHaveLength(9);
    for (const attempt of attempts) {
      expect(attempt.outcome).toBe("NOT_SENT");
      expect(attempt.error).toContain("ECONNREFUSED");
    }
    // Nothing was sent, so nothing is kept to reconcile: the next run makes a new attempt.
    const kept = await sql`select id from invoices where attempt_key is not null`;
    expect(kept).toEqual([]);
  });
});

describe("result is read as org.json's getBoolean reads it", () => {
  // JSONObject.getBoolean (org.json 2015): Boolean.TRUE/FALSE, or a String equalsIgnoreCase
  // "true"/"false" (Java's per-character comparison: "ſ" upper-cases to "S"); anything else
  // throws. Customer n gets answer n-1.
  const MATRIX: Array<[string, string]> = [
    ['{"result":true}', "PAID"],
    ['{"result":false}', "DECLINED"],
    ['{"result":"true"}', "PAID"],
    ['{"result":"TRUE"}', "PAID"],
    ['{"result":"False"}', "DECLINED"],
    ['{"result":"falſe"}', "DECLINED"],
    ['{"result":"yes"}', "OUTCOME_UNKNOWN"],
    ['{"result":1}', "OUTCOME_UNKNOWN"],
    ['{"charged":true}', "OUTCOME_UNKNOWN"],
    ['{"result":null}', "OUTCOME_UNKNOWN"],
  ];

  it('true, false, "true", "TRUE", "False" parse; "yes", 1, missing, null are unknown and never asked again', async () => {
    const provider = await standIn((body) => ({
      status: 200,
      body: MATRIX[Number(body.customer_id) - 1]![0],
      charged: false,
    }));
    const { antaeus, sql } = await startAntaeus(provider.url, MATRIX.length);
    await pay(antaeus);
    const rows = await sql<Array<{ customer_id: number; status: string }>>`
      select customer_id, status from invoices order by customer_id`;
    expect(rows.map((row) => row.status)).toEqual(MATRIX.map(([, status]) => status));
    expect(maxOf(provider.requests)).toBe(1);
  });
});

describe("stand-in providers written for the original challenge", () => {
  const CUSTOMERS = 200;
  const halfPaid = (counts: Record<string, number>, of: number) => {
    expect(counts.PAID ?? 0).toBeGreaterThan(of * 0.35);
    expect(counts.PAID ?? 0).toBeLessThan(of * 0.65);
  };

  it("one that declares currency an empty object and answers 400 to a string", async () => {
    const draw = mulberry32(1);
    const provider = await standIn((body) => {
      const declared =
        typeof body.currency === "object" &&
        body.currency !== null &&
        Object.keys(body.currency).length === 0;
      if (!declared) return { status: 400, body: '{"error":"currency"}', charged: false };
      const paid = draw() < 0.5;
      return { status: 200, body: JSON.stringify({ result: paid }), charged: paid };
    });
    const { antaeus, sql } = await startAntaeus(provider.url, CUSTOMERS);
    const run = await pay(antaeus);
    expect(run.status).toBe("COMPLETED");
    const counts = await statusCounts(sql);
    expect(counts.REJECTED).toBeUndefined();
    halfPaid(counts, CUSTOMERS);
    expect((counts.PAID ?? 0) + (counts.DECLINED ?? 0)).toBe(CUSTOMERS);
    expect(provider.requests.size).toBe(CUSTOMERS);
    expect(maxOf(provider.requests)).toBe(1);
    console.info(
      "currency-{} stand-in:",
      counts,
      "requests per invoice ≤",
      maxOf(provider.requests),
    );
  });

  it('one that answers "True" and "FALSE"', async () => {
    const draw = mulberry32(2);
    const provider = await standIn(() => {
      const paid = draw() < 0.5;
      return { status: 200, body: `{"result":"${paid ? "True" : "FALSE"}"}`, charged: paid };
    });
    const { antaeus, sql } = await startAntaeus(provider.url, CUSTOMERS);
    await pay(antaeus);
    const counts = await statusCounts(sql);
    halfPaid(counts, CUSTOMERS);
    expect((counts.PAID ?? 0) + (counts.DECLINED ?? 0)).toBe(CUSTOMERS);
    expect(maxOf(provider.requests)).toBe(1);
    console.info(
      "True/FALSE stand-in:",
      counts,
      "requests per invoice ≤",
      maxOf(provider.requests),
    );
  });

  it("one that ignores keys and answers after the timeout: never sent twice, not by this run nor the next", async () => {
    const draw = mulberry32(3);
    const provider = await standIn(() => {
      const paid = draw() < 0.5;
      const late = draw() < 0.25;
      return {
        status: 200,
        body: JSON.stringify({ result: paid }),
        charged: paid,
        ...(late ? { delayMs: 800 } : {}),
      };
    });
    const { antaeus, sql } = await startAntaeus(provider.url, CUSTOMERS, {
      PAYMENT_TIMEOUT_MS: "300",
      PAYMENT_RETRIES: "2",
      BILLING_LEASE_MS: "12000",
    });
    const first = await pay(antaeus);
    expect(first.status).toBe("COMPLETED");
    const unknown = first.counts.OUTCOME_UNKNOWN ?? 0;
    console.info(
      "late, key-ignoring stand-in, first run:",
      first.counts,
      "requests per invoice ≤",
      maxOf(provider.requests),
    );
    expect(unknown).toBeGreaterThan(CUSTOMERS * 0.1);
    expect(maxOf(provider.requests)).toBe(1);
    const waiting = await sql<Array<{ customer_id: number }>>`
      select customer_id from invoices where status = 'OUTCOME_UNKNOWN'`;
    expect(waiting).toHaveLength(unknown);

    // The next run charges DECLINED again (a definite no) and leaves OUTCOME_UNKNOWN alone.
    const second = await pay(antaeus);
    expect(second.total).toBe(first.counts.DECLINED);
    for (const { customer_id } of waiting) expect(provider.requests.get(customer_id)).toBe(1);
    expect(maxOf(provider.charged)).toBe(1);
    const counts = await statusCounts(sql);
    console.info(
      "late, key-ignoring stand-in after two runs:",
      counts,
      "requests per invoice ≤",
      maxOf(provider.requests),
      "charges per invoice ≤",
      maxOf(provider.charged),
    );

    // Visible where an operator looks: the run's counts, the attempts, /metrics.
    const [{ id }] = await sql<[{ id: number }]>`
      select id from invoices where status = 'OUTCOME_UNKNOWN' order by id limit 1`;
    const attempts = (await (
      await fetch(`${antaeus.url}/rest/v1/invoices/${id}/attempts`)
    ).json()) as Array<{ outcome: string; error: string; idempotencyKey: string | null }>;
    expect(attempts.at(-1)).toMatchObject({
      outcome: "OUTCOME_UNKNOWN",
      error: "no answer within 300 ms",
      idempotencyKey: null,
    });
    const metrics = await (await fetch(`${antaeus.url}/metrics`)).text();
    expect(metrics).toContain(
      `antaeus_billing_verdicts_total{outcome="OUTCOME_UNKNOWN"} ${unknown + (second.counts.OUTCOME_UNKNOWN ?? 0)}`,
    );
  });
});
