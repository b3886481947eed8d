import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PaymentConfig } from "../../functions/payment/config.js";
import { type InProcessApp, inProcessPayment } from "../support/in-process.js";

// Payment's own rate limit, through the app on a real ledger: what a real provider answers above
// its limit, so the whole system meets it locally.

let payment: InProcessApp<PaymentConfig>;
beforeAll(async () => {
  payment = await inProcessPayment({ PAYMENT_AUTH: "off", PAYMENT_RATE_LIMIT: "1" });
});
afterAll(() => payment?.close());

const charge = (key: string) =>
  payment.app.request("/v1/charges", {
    method: "POST",
    headers: { "content-type": "application/json", "idempotency-key": key },
    body: JSON.stringify({ invoice_id: 1, customer_id: 1, currency: "DKK", value: "10.00" }),
  });

describe("PAYMENT_RATE_LIMIT", () => {
  it("answers a charge above the limit 429 with Retry-After, and neither charges nor records it", async () => {
    expect((await charge("within-the-limit")).status).toBe(200);
    const refused = await charge("above-the-limit");
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).toBe("1");
    expect(await refused.json()).toEqual({
      error: { code: "rate_limited", message: "too many charges a second; retry later" },
    });
    const ledger = await payment.sql<Array<{ idempotency_key: string }>>`
      select idempotency_key from payment.charges order by created_at`;
    expect(ledger.map((row) => row.idempotency_key)).toEqual(["within-the-limit"]);
  });
});
