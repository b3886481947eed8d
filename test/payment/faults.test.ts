import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ChargeBody, expectError, type Payment, postCharge, startPayment } from "./support.js";

let failing: Payment;
let slow: Payment;
let late: Payment;

beforeAll(async () => {
  [failing, slow, late] = await Promise.all([
    startPayment({ PAYMENT_ERROR_RATE: "1" }),
    startPayment({ PAYMENT_LATENCY_MS: "300-400" }),
    // A short drain bound: the late answer still sleeping at the end need not hold up the stop.
    startPayment({ PAYMENT_LATE_REPLY_MS: "600000", SHUTDOWN_TIMEOUT_MS: "200" }),
  ]);
});
afterAll(async () => {
  await Promise.all([failing?.stop(), slow?.stop(), late?.stop()]);
});

const aCharge = { invoice_id: 9, customer_id: 2, currency: "GBP", value: 42.5 };

const warned = (payment: Payment, words: string) =>
  payment.process.logs.some((l) => l.level === "warn" && String(l.msg).includes(words));

describe("fault injection", () => {
  it("PAYMENT_ERROR_RATE=1 answers 503 with Retry-After, charges nothing, and counts it", async () => {
    for (const key of ["down-1", "down-1", undefined]) {
      const response = await postCharge(failing.url, aCharge, key ? { key } : {});
      expect(response.headers.get("retry-after")).toBe("1");
      await expectError(response, 503, "unavailable", "unavailable");
    }
    expect(await failing.ledger()).toEqual([]);
    const metrics = await (await fetch(`${failing.url}/metrics`)).text();
    expect(metrics).toContain('payment_charges_total{outcome="unavailable"} 3');
    expect(warned(failing, "503")).toBe(true);
  });

  it("PAYMENT_LATENCY_MS holds every charge for at least the range's lower bound", async () => {
    // A wait is never shorter than asked, however busy the machine; how much longer is a
    // question for a benchmark, not a test.
    for (let i = 0; i < 5; i++) {
      const started = performance.now();
      const response = await postCharge(slow.url, aCharge);
      expect(response.status).toBe(200);
      expect(performance.now() - started).toBeGreaterThanOrEqual(300);
    }
    expect(warned(slow, "delaying")).toBe(true);
  });

  it("PAYMENT_LATE_REPLY_MS charges, then answers after the caller gave up; a retry gets the charge at once", async () => {
    const key = "late-key";
    const timedOut = postCharge(late.url, aCharge, { key, signal: AbortSignal.timeout(5_000) });
    await expect(timedOut).rejects.toThrow(/timeout|aborted/i);

    // The caller never heard, yet the ledger holds the charge, committed before the wait.
    await expect.poll(() => late.ledger(), { timeout: 60_000 }).toHaveLength(1);
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
    expect(warned(late, "answering late")).toBe(true);
  });
});
