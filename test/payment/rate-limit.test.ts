import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { paymentApp } from "../../functions/payment/app.js";
import { loadPaymentConfig } from "../../functions/payment/config.js";
import { migrations } from "../../functions/payment/data/database.js";
import { connect, migrateUnderLock, type Sql } from "../../functions/runtime/index.js";
import { createDatabase } from "../support/database.js";

// Payment's own rate limit, through the app on a real ledger: what a real provider answers above
// its limit, so the whole system meets it locally.

let sql: Sql;
let app: ReturnType<typeof paymentApp>;
beforeAll(async () => {
  const url = await createDatabase("payment_rate");
  const logger = pino({ level: "silent" });
  await migrateUnderLock(url, migrations, logger);
  // As the function connects: postgres.js learns the array types before the ledger's first write.
  sql = await connect(url, { max: 2, logger });
  const config = loadPaymentConfig({
    DATABASE_URL: url,
    PAYMENT_AUTH: "off",
    PAYMENT_RATE_LIMIT: "1",
  });
  app = paymentApp({ config, sql, logger });
});
afterAll(() => sql?.end());

const charge = (key: string) =>
  app.request("/v1/charges", {
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
    const ledger = await sql<Array<{ idempotency_key: string }>>`
      select idempotency_key from payment.charges order by created_at`;
    expect(ledger.map((row) => row.idempotency_key)).toEqual(["within-the-limit"]);
  });
});
