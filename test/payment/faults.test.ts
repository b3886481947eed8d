import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PaymentConfig } from "../../functions/payment/config.js";
import { expectError } from "../support/api-error.js";
import { type InProcessApp, inProcessPayment } from "../support/in-process.js";
import {
  type ChargeBody,
  ledgerOf,
  type Payment,
  postCharge,
  type Send,
  startPayment,
} from "./support.js";

let failing: InProcessApp<PaymentConfig>;
let slow: InProcessApp<PaymentConfig>;
// A process: its caller hangs up on a real connection.
let late: Payment;

beforeAll(async () => {
  [failing, slow, late] = await Promise.all([
    inProcessPayment({ PAYMENT_AUTH: "off", PAYMENT_ERROR_RATE: "1" }),
    inProcessPayment({ PAYMENT_AUTH: "off", PAYMENT_LATENCY_MS: "300-400" }),
    // A short drain bound: the late answer still sleeping at the end need not hold up the stop.
    startPayment({ PAYMENT_LATE_REPLY_MS: "600000", SHUTDOWN_TIMEOUT_MS: "200" }),
  ]);
});
afterAll(async () => {
  await Promise.all([failing?.close(), slow?.close(), late?.stop()]);
});

const to =
  (payment: InProcessApp<PaymentConfig>): Send =>
  (path, init) =>
    payment.app.request(path, init);

const aCharge = { invoice_id: 9, customer_id: 2, currency: "GBP", value: 42.5 };

const warned = (logs: Array<Record<string, unknown>>, words: string) =>
  logs.some((l) => l.level === "warn" && String(l.msg).includes(words));

describe("fault injection", () => {
  it("PAYMENT_ERROR_RATE=1 answers 503 with Retry-After, charges nothing, and counts it", async () => {
    for (const key of ["down-1", "down-1", undefined]) {
      const response = await postCharge(to(failing), aCharge, key ? { key } : {});
      expect(response.headers.get("retry-after")).toBe("1");
      await expectError(response, 503, "unavailable", "unavailable");
    }
    expect(await ledgerOf(failing.sql)()).toEqual([]);
    const metrics = await (await failing.app.request("/metrics")).text();
    expect(metrics).toContain('payment_charges_total{outcome="unavailable"} 3');
    expect(warned(failing.logs, "503")).toBe(true);
  });

  it("PAYMENT_LATENCY_MS holds every charge for at least the range's lower bound", async () => {
    // A wait is never shorter than asked, however busy the machine; how much longer is a
    // question for a benchmark, not a test.
    const waits = await Promise.all(
      Array.from({ length: 5 }, async () => {
        const started = performance.now();
        const response = await postCharge(to(slow), aCharge);
        expect(response.status).toBe(200);
        return performance.now() - started;
      }),
    );
    for (const wait of waits) expect(wait).toBeGreaterThanOrEqual(300);
    expect(warned(slow.logs, "delaying")).toBe(true);
  });

  it("PAYMENT_LATE_REPLY_MS charges, then answers after the caller gave up; a retry gets the charge at once", async () => {
    const key = "late-key";
    const caller = new AbortController();
    const call = postCharge(late.url, aCharge, { key, signal: caller.signal });
    // The ledger holds the charge while its answer is still to come: committed before the wait.
    await expect.poll(() => late.ledger(), { timeout: 30_000 }).toHaveLength(1);
    caller.abort();
    await expect(call).rejects.toThrow(/aborted/i);
    const rows = await late.ledger();
    expect(rows[0]).toMatchObject({ idempotency_key: key, invoice_id: 9 });
    const lookup = (await (
      await fetch(`${late.url}/v1/charges?idempotency_key=${key}`)
    ).json()) as { charges: ChargeBody[] };
    expect(lookup.charges.map((c) => c.charge_id)).toEqual([rows[0]?.id]);

    // Late answers here take ten minutes, longer than this test may run: that the retry is
    // answered at all shows a replay is never late.
    const retry = await postCharge(late.url, aCharge, { key });
    expect(retry.headers.get("idempotent-replayed")).toBe("true");
    expect(((await retry.json()) as ChargeBody).charge_id).toBe(rows[0]?.id);
    expect(await late.ledger()).toHaveLength(1);
    expect(warned(late.process.logs, "answering late")).toBe(true);
  });
});
