import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PaymentConfig } from "../../functions/payment/config.js";
import { type InProcessApp, inProcessPayment } from "../support/in-process.js";
import { type ChargeBody, inParallel, ledgerOf, postCharge } from "./support.js";

/** The real payment function in-process: the draw is the app's; each replica its own app. */
let unseeded: InProcessApp<PaymentConfig>;
let seededA: InProcessApp<PaymentConfig>;
let seededB: InProcessApp<PaymentConfig>;

beforeAll(async () => {
  [unseeded, seededA, seededB] = await Promise.all([
    inProcessPayment({ PAYMENT_AUTH: "off", PAYMENT_SUCCESS_RATE: "0.3", DATABASE_POOL_MAX: "20" }),
    inProcessPayment({ PAYMENT_AUTH: "off", PAYMENT_SEED: "20260101" }),
    inProcessPayment({ PAYMENT_AUTH: "off", PAYMENT_SEED: "20260101" }),
  ]);
});
afterAll(async () => {
  await Promise.all([unseeded?.close(), seededA?.close(), seededB?.close()]);
});

const body = { customer_id: 1, currency: "EUR", value: 1 };

async function outcome(
  payment: InProcessApp<PaymentConfig>,
  key?: string,
): Promise<ChargeBody["status"]> {
  const response = await postCharge(
    (path, init) => payment.app.request(path, init),
    body,
    key === undefined ? {} : { key },
  );
  expect(response.status).toBe(200);
  return ((await response.json()) as ChargeBody).status;
}

describe("the random draw", () => {
  it("succeeds at PAYMENT_SUCCESS_RATE over 10,000 charges, within 4 sigma", async () => {
    const draws = 10_000;
    const rate = 0.3;
    const outcomes = await inParallel(draws, 32, () => outcome(unseeded));
    const succeeded = outcomes.filter((o) => o === "succeeded").length;
    const sigma = Math.sqrt(draws * rate * (1 - rate));
    expect(Math.abs(succeeded - draws * rate)).toBeLessThan(4 * sigma);
    expect(await ledgerOf(unseeded.sql)()).toHaveLength(draws);
  });

  it("with PAYMENT_SEED, gives a key the same outcome on any replica, in any order", async () => {
    const keys = Array.from({ length: 40 }, (_, i) => `seeded-${i}`);
    const onA = await inParallel(keys.length, 8, (i) => outcome(seededA, keys[i]));
    const onB = await inParallel(keys.length, 8, (i) => outcome(seededB, keys.at(-1 - i)));
    expect(onB.reverse()).toEqual(onA);
    expect(new Set(onA)).toEqual(new Set(["succeeded", "declined"]));
  });
});
