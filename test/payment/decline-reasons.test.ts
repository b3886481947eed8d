import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadPaymentConfig, type PaymentConfig } from "../../functions/payment/config.js";
import { ConfigError } from "../../functions/runtime/index.js";
import { type InProcessApp, inProcessPayment } from "../support/in-process.js";
import { type ChargeBody, inParallel, ledgerOf, postCharge } from "./support.js";

/** The real payment function in-process: the draw and its reasons are the app's, not its process's. */
let mixed: InProcessApp<PaymentConfig>;
let onlyHard: InProcessApp<PaymentConfig>;

beforeAll(async () => {
  [mixed, onlyHard] = await Promise.all([
    inProcessPayment({
      PAYMENT_AUTH: "off",
      PAYMENT_SEED: "11",
      PAYMENT_SUCCESS_RATE: "0.2",
      PAYMENT_DECLINE_REASONS: "insufficient_funds=0.6,expired_card=0.4",
    }),
    inProcessPayment({
      PAYMENT_AUTH: "off",
      PAYMENT_SEED: "11",
      PAYMENT_DECLINE_REASONS: "stolen_card=1",
    }),
  ]);
});
afterAll(async () => {
  await Promise.all([mixed?.close(), onlyHard?.close()]);
});

const body = { invoice_id: 5, customer_id: 1, currency: "EUR", value: 10 };

async function answer(payment: InProcessApp<PaymentConfig>, key: string): Promise<ChargeBody> {
  const response = await postCharge((path, init) => payment.app.request(path, init), body, {
    key,
  });
  expect(response.status).toBe(200);
  return (await response.json()) as ChargeBody;
}

describe("decline reasons", () => {
  it("splits declines between reasons at PAYMENT_DECLINE_REASONS's shares, within 4 sigma", async () => {
    const draws = 1_000;
    const answers = await inParallel(draws, 16, (i) => answer(mixed, `mix-${i}`));
    const declined = answers.filter((a) => !a.result);
    expect(answers.filter((a) => a.result && a.reason === undefined)).toHaveLength(
      draws - declined.length,
    );
    const expired = declined.filter((a) => a.reason === "expired_card").length;
    expect(declined.filter((a) => a.reason === "insufficient_funds").length).toBe(
      declined.length - expired,
    );
    const sigma = Math.sqrt(declined.length * 0.4 * 0.6);
    expect(Math.abs(expired - declined.length * 0.4)).toBeLessThan(4 * sigma);
    // The ledger keeps the reason the answer gave.
    const ledger = await ledgerOf(mixed.sql)();
    expect(
      ledger.filter((row) => row.status === "declined" && row.reason === "expired_card"),
    ).toHaveLength(expired);
  });

  it("gives a key the same reason on a replay", async () => {
    const first = await answer(onlyHard, "replayed-reason");
    const again = await answer(onlyHard, "replayed-reason");
    expect(again).toEqual(first);
    if (!first.result) expect(first.reason).toBe("stolen_card");
  });

  // Read by the loader the process reads its environment with; a ConfigError stops the start
  // with exit 1 and the message (payment/lifecycle › "configuration errors stop the start").
  it("refuses an unknown reason or a malformed share at start, naming the variable", () => {
    for (const value of [
      "card_eaten=1",
      "insufficient_funds",
      "insufficient_funds=-1",
      "do_not_honor=0",
    ]) {
      const load = () => loadPaymentConfig({ PAYMENT_AUTH: "off", PAYMENT_DECLINE_REASONS: value });
      expect(load, value).toThrow(ConfigError);
      expect(load, value).toThrow(/PAYMENT_DECLINE_REASONS/);
    }
  });
});
