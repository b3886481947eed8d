import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AntaeusConfig } from "../../functions/antaeus/config.js";
import { type InProcessApp, inProcessAntaeus } from "../support/in-process.js";
import type { RunBody } from "../support/system.js";

/**
 * PAYMENT_TIMEOUT_MS bounds a whole attempt. A provider that answers its headers at once and then
 * trickles its body, one byte well within any idle timeout, must not hold a charge (and its
 * lease, and the request budget) past the deadline.
 */
let provider: Server;
let antaeus: InProcessApp<AntaeusConfig>;
const trickles = new Set<NodeJS.Timeout>();

beforeAll(async () => {
  provider = createServer((request, response) => {
    request.resume();
    request.on("end", () => {
      response.writeHead(200, { "content-type": "application/json" });
      // JSON allows leading whitespace: a space every 50 ms, the document after 30 s.
      let sent = 0;
      const timer = setInterval(() => {
        if (response.destroyed || sent++ >= 600) {
          clearInterval(timer);
          trickles.delete(timer);
          if (!response.destroyed) response.end('{"result":true}');
          return;
        }
        response.write(" ");
      }, 50);
      trickles.add(timer);
    });
  });
  await new Promise<void>((resolve) => provider.listen(0, "127.0.0.1", resolve));
  antaeus = await inProcessAntaeus({
    SEED_CUSTOMERS: "3",
    SEED_INVOICES_PER_CUSTOMER: "1",
    SEED_LAST_PERIOD: "2026-10",
    PAYMENT_PROVIDER_ENDPOINT: `http://127.0.0.1:${(provider.address() as AddressInfo).port}/v1/charges`,
    PAYMENT_TIMEOUT_MS: "400",
    PAYMENT_RETRIES: "1",
    BILLING_LEASE_MS: "12000",
  });
  // The run's lane comes back to Antaeus over HTTP.
  await antaeus.listen();
});
afterAll(async () => {
  await antaeus?.close();
  for (const timer of trickles) clearInterval(timer);
  provider?.closeAllConnections();
  provider?.close();
});

describe("PAYMENT_TIMEOUT_MS is a hard deadline per attempt", () => {
  it("ends an attempt whose answer trickles in, and the run completes with the outcome unknown", async () => {
    const run = (await (
      await antaeus.app.request("/rest/v1/invoices/pay", { method: "POST" })
    ).json()) as RunBody;
    expect(run.status).toBe("COMPLETED");
    expect(run.counts.NETWORK_ERROR).toBe(3);
    const attempts = await antaeus.sql<
      Array<{ outcome: string; error: string; http_status: number }>
    >`
      select outcome, error, http_status from payment_attempts`;
    expect(attempts).toHaveLength(6); // each invoice: the call and one retry, same key
    for (const attempt of attempts) {
      expect(attempt).toMatchObject({ outcome: "UNKNOWN", error: "no answer within 400 ms" });
    }
  });
});
