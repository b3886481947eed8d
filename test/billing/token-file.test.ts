import { unlinkSync, writeFileSync } from "node:fs";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDatabase, openSql } from "../support/database.js";
import { startFunction } from "../support/processes.js";
import type { RunBody } from "../support/system.js";

/**
 * The payment token is needed for charges, not for the API: Antaeus starts and is ready without
 * it (a revision created by `kn` has no token volume yet), and a charge attempted while the file
 * cannot be read is never sent.
 */

let provider: Server;
let calls: IncomingHttpHeaders[] = [];
let endpoint = "";
const cleanups: Array<() => unknown> = [];

beforeAll(async () => {
  provider = createServer((request, response) => {
    request.resume();
    request.on("end", () => {
      calls.push(request.headers);
      // A little latency, so a run is still going when the token file disappears.
      setTimeout(() => {
        response.writeHead(200, { "content-type": "application/json" });
        response.end(JSON.stringify({ result: calls.length % 2 === 0 }));
      }, 20);
    });
  });
  await new Promise<void>((resolve) => provider.listen(0, "127.0.0.1", resolve));
  endpoint = `http://127.0.0.1:${(provider.address() as AddressInfo).port}/v1/charges`;
});
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  provider?.closeAllConnections();
  provider?.close();
});

async function startAntaeus(tokenFile: string, env: Record<string, string>) {
  const databaseUrl = await createDatabase("token");
  const antaeus = await startFunction("antaeus", {
    DATABASE_URL: databaseUrl,
    SEED_INVOICES_PER_CUSTOMER: "1",
    SEED_LAST_PERIOD: "2026-10",
    PAYMENT_PROVIDER_ENDPOINT: endpoint,
    PAYMENT_TOKEN_FILE: tokenFile,
    ...env,
  });
  const sql = openSql(databaseUrl);
  cleanups.push(
    () => antaeus.stop(),
    () => sql.end(),
  );
  return { antaeus, sql };
}

const pay = async (url: string) =>
  (await (await fetch(`${url}/rest/v1/invoices/pay`, { method: "POST" })).json()) as RunBody;

describe("Antaeus without its payment token file", () => {
  it("starts, is ready, warns once naming the file, and sends no charge until the file appears", async () => {
    const tokenFile = join(tmpdir(), `antaeus-missing-token-${process.pid}`);
    cleanups.push(() => {
      try {
        unlinkSync(tokenFile);
      } catch {}
    });
    calls = [];
    const { antaeus, sql } = await startAntaeus(tokenFile, {
      SEED_CUSTOMERS: "4",
      PAYMENT_RETRIES: "1",
    });
    expect((await fetch(`${antaeus.url}/readyz`)).status).toBe(200);
    // Besides auth being off (local use), which says so in its own warning.
    const warnings = antaeus.logs.filter(
      (l) => l.level === "warn" && !String(l.msg).startsWith("ANTAEUS_AUTH=off"),
    );
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.msg).toContain(tokenFile);

    const run = await pay(antaeus.url);
    expect(run.counts.NETWORK_ERROR).toBe(4);
    expect(calls).toHaveLength(0);
    const attempts = await sql<Array<{ outcome: string; error: string }>>`
      select outcome, error from payment_attempts`;
    expect(attempts).toHaveLength(8); // the call and one retry, per invoice
    for (const attempt of attempts) {
      expect(attempt.outcome).toBe("NOT_SENT");
      expect(attempt.error).toContain(tokenFile);
    }

    writeFileSync(tokenFile, "token-late\n");
    // The file is looked at once a second: pay until the runs have charged everything.
    await expect
      .poll(
        async () => {
          await pay(antaeus.url);
          const [row] = await sql<[{ n: number }]>`
            select count(*)::int as n from invoices where status = 'NETWORK_ERROR'`;
          return row.n;
        },
        { timeout: 20_000, interval: 200 },
      )
      .toBe(0);
    expect(calls.length).toBeGreaterThanOrEqual(4);
    expect(new Set(calls.map((c) => c.authorization))).toEqual(new Set(["Bearer token-late"]));
  });

  it("keeps serving when the file disappears mid-run: the run completes, unsent charges wait for the next run", async () => {
    const tokenFile = join(tmpdir(), `antaeus-vanishing-token-${process.pid}`);
    writeFileSync(tokenFile, "token-one\n");
    calls = [];
    const { antaeus, sql } = await startAntaeus(tokenFile, {
      SEED_CUSTOMERS: "200",
      BILLING_CONCURRENCY: "2",
      PAYMENT_RETRIES: "0",
    });
    const running = pay(antaeus.url);
    await expect.poll(() => calls.length, { timeout: 20_000, interval: 20 }).toBeGreaterThan(5);
    unlinkSync(tokenFile);

    const run = await running;
    expect(run.status).toBe("COMPLETED");
    expect(run.done).toBe(200);
    expect(antaeus.child.exitCode).toBeNull();
    expect((await fetch(`${antaeus.url}/healthz`)).status).toBe(200);
    // Every request that left carried the token; the rest were never sent.
    expect(calls.every((c) => c.authorization === "Bearer token-one")).toBe(true);
    const [unsent] = await sql<[{ n: number }]>`
      select count(*)::int as n from payment_attempts
      where outcome = 'NOT_SENT' and error like ${`%${tokenFile}%`}`;
    expect(unsent.n).toBeGreaterThan(0);
    expect(run.counts.NETWORK_ERROR).toBe(unsent.n);
  });
});
