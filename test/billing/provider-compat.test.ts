import { writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createDatabase, openSql } from "../support/database.js";
import { type FunctionProcess, startFunction } from "../support/processes.js";
import { scratchDir } from "../support/scratch.js";
import type { RunBody } from "../support/system.js";

/**
 * Payment services written by others for the original challenge, which Antaeus must work with:
 * a stand-in on a local port that answers as they do (we cannot run theirs here).
 */
type Answer = (
  call: Call,
  nth: number,
) => { status: number; body?: unknown; headers?: Record<string, string> } | "hang";
interface Call {
  at: number;
  headers: IncomingMessage["headers"];
  body: Record<string, unknown>;
}

let answer: Answer;
let calls: Call[] = [];
let provider: Server;
let antaeus: FunctionProcess;
let sql: ReturnType<typeof openSql>;
let tokenFile: string;

beforeAll(async () => {
  provider = createServer((request, response) => {
    let text = "";
    request.on("data", (chunk) => (text += chunk));
    request.on("end", () => {
      const call = {
        at: performance.now(),
        headers: request.headers,
        body: JSON.parse(text) as Record<string, unknown>,
      };
      calls.push(call);
      const reply = answer(
        call,
        calls.filter((c) => c.body.invoice_id === call.body.invoice_id).length,
      );
      if (reply === "hang") return;
      response.writeHead(reply.status, { "content-type": "application/json", ...reply.headers });
      response.end(JSON.stringify(reply.body ?? {}));
    });
  });
  await new Promise<void>((resolve) => provider.listen(0, "127.0.0.1", resolve));
  tokenFile = join(scratchDir("antaeus-token"), "token");
  writeFileSync(tokenFile, "token-one\n");
  const databaseUrl = await createDatabase("compat");
  antaeus = await startFunction("antaeus", {
    DATABASE_URL: databaseUrl,
    SEED_CUSTOMERS: "4",
    SEED_INVOICES_PER_CUSTOMER: "2",
    SEED_LAST_PERIOD: "2026-10",
    PAYMENT_PROVIDER_ENDPOINT: `http://127.0.0.1:${(provider.address() as AddressInfo).port}/charge`,
    PAYMENT_TOKEN_FILE: tokenFile,
    PAYMENT_TIMEOUT_MS: "300",
    PAYMENT_RETRIES: "2",
    BILLING_LEASE_MS: "12000",
  });
  sql = openSql(databaseUrl);
});
afterAll(async () => {
  await antaeus?.stop();
  await sql?.end();
  provider?.closeAllConnections();
  provider?.close();
});
beforeEach(async () => {
  calls = [];
  await sql`update invoices set status = 'PENDING', attempt_key = null`;
  // Each test meets a provider that has not answered 429 yet: a 429 lowers the shared rate.
  await sql`update provider_rate set rate = null, decreased_at = null, paused_until = null`;
});

const payRun = async () =>
  (await (
    await fetch(`${antaeus.url}/rest/v1/invoices/pay`, { method: "POST" })
  ).json()) as RunBody;
const statuses = async () =>
  (
    await sql<Array<{ id: number; status: string }>>`select id, status from invoices order by id`
  ).map((r) => r.status);

describe("Antaeus with providers written for the original challenge", () => {
  it("sends the original three fields plus invoice_id, an exact decimal value and an Idempotency-Key", async () => {
    answer = () => ({ status: 200, body: { result: true } });
    await payRun();
    expect(calls).toHaveLength(8);
    const [row] =
      await sql`select id, customer_id, currency, amount_minor::text as minor from invoices where id = 1`;
    const call = calls.find((c) => c.body.invoice_id === 1)!;
    expect(call.body).toEqual({
      invoice_id: 1,
      customer_id: row!.customer_id,
      currency: row!.currency,
      value: Number(row!.minor) / 100,
    });
    expect(call.headers["content-type"]).toBe("application/json");
    expect(call.headers["idempotency-key"]).toMatch(/^[0-9a-f-]{36}$/);
    expect(new Set(calls.map((c) => c.headers["idempotency-key"])).size).toBe(8);
  });

  it('accepts result as the strings "true" and "false"', async () => {
    answer = (call) => ({
      status: 200,
      body: { result: Number(call.body.invoice_id) % 2 === 1 ? "true" : "false" },
    });
    await payRun();
    expect(await statuses()).toEqual([
      "PAID",
      "DECLINED",
      "PAID",
      "DECLINED",
      "PAID",
      "DECLINED",
      "PAID",
      "DECLINED",
    ]);
  });

  it("presents the token file as a Bearer token, and the new one after the file changes", async () => {
    answer = () => ({ status: 200, body: { result: false } });
    await payRun();
    expect(new Set(calls.map((c) => c.headers.authorization))).toEqual(
      new Set(["Bearer token-one"]),
    );
    writeFileSync(tokenFile, "token-two\n");
    // The file is looked at no more than once a second, last before the run's last call left: a
    // second after that call arrived, the next call looks again.
    const lastCall = Math.max(...calls.map((c) => c.at));
    await new Promise((resolve) => setTimeout(resolve, lastCall + 1_050 - performance.now()));
    calls = [];
    await payRun();
    expect(new Set(calls.map((c) => c.headers.authorization))).toEqual(
      new Set(["Bearer token-two"]),
    );
  });

  it("never retries a 4xx: the invoice is REJECTED after one call", async () => {
    answer = () => ({ status: 400, body: { error: { message: "value is not a number" } } });
    const run = await payRun();
    expect(run.counts.REJECTED).toBe(8);
    expect(calls).toHaveLength(8);
    const [attempt] =
      await sql`select outcome, http_status, error from payment_attempts where invoice_id = 1 order by id desc limit 1`;
    expect(attempt).toMatchObject({
      outcome: "REJECTED",
      http_status: 400,
      error: "HTTP 400: value is not a number",
    });
  });

  // What a cluster whose issuer payment does not expect looks like from Antaeus: every charge
  // 401. Not eight unlucky customers: the run, its page and the log name a configuration problem.
  it("names a run whose every charge the provider refused as a configuration problem", async () => {
    answer = () => ({
      status: 401,
      body: { error: { message: "a valid bearer token is required" } },
    });
    const run = await payRun();
    expect(run.counts.REJECTED).toBe(8);
    expect(run.refusal).toMatchObject({
      code: "provider_refused_every_charge",
      refused: 8,
      answered: 8,
    });
    expect(run.refusal?.message).toContain("configuration problem");
    const page = await (await fetch(`${antaeus.url}/runs/${run.id}`)).text();
    expect(page).toMatch(
      /<p class="alert" role="alert" data-field="refusal">The payment provider refused every charge/,
    );
    await expect
      .poll(() =>
        antaeus.logs.find((l) => l.msg === "provider_refused_every_charge" && l.runId === run.id),
      )
      .toMatchObject({ level: "error", runId: run.id, refused: 8 });
  });

  it.each([503, 429])(
    "takes a %i as an unknown outcome: asks again under the same key, no sooner than its Retry-After",
    async (status) => {
      answer = (_, nth) =>
        nth === 1
          ? { status, headers: { "retry-after": "1" } }
          : { status: 200, body: { result: true } };
      const run = await payRun();
      expect(run.counts.PAID).toBe(8);
      for (let id = 1; id <= 8; id++) {
        const [first, second] = calls.filter((c) => c.body.invoice_id === id);
        expect(second!.headers["idempotency-key"]).toBe(first!.headers["idempotency-key"]);
        // A wait's lower bound holds however busy the machine is: a timer never fires early.
        expect(second!.at - first!.at).toBeGreaterThanOrEqual(950);
      }
      const [attempt] = await sql`
        select outcome, http_status from payment_attempts where invoice_id = 1
        order by id desc offset 1 limit 1`;
      expect(attempt).toEqual({ outcome: "UNKNOWN", http_status: status });
    },
  );

  it("waits at most 5 s for a Retry-After that asks for more, so the lease still covers the charge", async () => {
    answer = (_, nth) =>
      nth === 1
        ? { status: 503, headers: { "retry-after": "3600" } }
        : { status: 200, body: { result: true } };
    // Waiting the hour asked for would outlast this test: that the run is answered shows the cap.
    const run = await payRun();
    expect(run.counts.PAID).toBe(8);
    for (let id = 1; id <= 8; id++) {
      const [first, second] = calls.filter((c) => c.body.invoice_id === id);
      expect(second!.at - first!.at).toBeGreaterThanOrEqual(4_950);
    }
  });

  it("gives up after the configured retries of a provider that never answers: NETWORK_ERROR, one key", async () => {
    answer = () => "hang";
    const run = await payRun();
    expect(run.counts.NETWORK_ERROR).toBe(8);
    expect(calls).toHaveLength(8 * 3); // the call and two retries
    for (let id = 1; id <= 8; id++) {
      expect(
        new Set(
          calls.filter((c) => c.body.invoice_id === id).map((c) => c.headers["idempotency-key"]),
        ).size,
      ).toBe(1);
    }
    const [attempt] =
      await sql`select outcome, error from payment_attempts where outcome = 'UNKNOWN' order by id desc limit 1`;
    expect(attempt?.error).toBe("no answer within 300 ms");
  });
});
