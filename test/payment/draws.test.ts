import { Pool } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ChargeBody, inParallel, type Payment, postCharge, startPayment } from "./support.js";

let unseeded: Payment;
let seededA: Payment;
let seededB: Payment;

beforeAll(async () => {
  [unseeded, seededA, seededB] = await Promise.all([
    startPayment({ PAYMENT_SUCCESS_RATE: "0.3", DATABASE_POOL_MAX: "20" }),
    startPayment({ PAYMENT_SEED: "20260101" }),
    startPayment({ PAYMENT_SEED: "20260101" }),
  ]);
});
afterAll(async () => {
  await Promise.all([unseeded?.stop(), seededA?.stop(), seededB?.stop()]);
});

const body = { customer_id: 1, currency: "EUR", value: 1 };

async function outcome(payment: Payment, key?: string): Promise<ChargeBody["status"]> {
  const response = await postCharge(payment.url, body, key === undefined ? {} : { key });
  expect(response.status).toBe(200);
  return ((await response.json()) as ChargeBody).status;
}

describe("the random draw", () => {
  it("succeeds at PAYMENT_SUCCESS_RATE over 10,000 charges, within 4 sigma", async () => {
    const draws = 10_000;
    const rate = 0.3;
    // undici's Pool rather than fetch: it costs the client half as much CPU per request.
    const pool = new Pool(unseeded.url, { connections: 32 });
    const text = JSON.stringify(body);
    const outcomes = await inParallel(draws, 32, async () => {
      const response = await pool.request({
        method: "POST",
        path: "/v1/charges",
        headers: { "content-type": "application/json" },
        body: text,
      });
      return ((await response.body.json()) as ChargeBody).status;
    });
    await pool.close();
    const succeeded = outcomes.filter((o) => o === "succeeded").length;
    const sigma = Math.sqrt(draws * rate * (1 - rate));
    expect(Math.abs(succeeded - draws * rate)).toBeLessThan(4 * sigma);
    expect(await unseeded.ledger()).toHaveLength(draws);
  });

  it("with PAYMENT_SEED, gives a key the same outcome on any replica, in any order", async () => {
    const keys = Array.from({ length: 40 }, (_, i) => `seeded-${i}`);
    const onA = await inParallel(keys.length, 8, (i) => outcome(seededA, keys[i]));
    const onB = await inParallel(keys.length, 8, (i) => outcome(seededB, keys.at(-1 - i)));
    expect(onB.reverse()).toEqual(onA);
    expect(new Set(onA)).toEqual(new Set(["succeeded", "declined"]));
  });
});
