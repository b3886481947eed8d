import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ORIGINAL_REQUESTS, originalRequestBytes } from "../billing/original-client.js";
import { expectError } from "../support/api-error.js";
import { type Payment, startPayment } from "./support.js";

let payment: Payment;
beforeAll(async () => {
  payment = await startPayment({ PAYMENT_SEED: "11" });
});
afterAll(() => payment?.stop());

/** Sends raw bytes over TCP, as the original's JVM client writes them; status line and body back. */
function sendRaw(port: number, bytes: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => socket.write(bytes));
    let received = Buffer.alloc(0);
    socket.on("data", (chunk) => {
      received = Buffer.concat([received, chunk]);
      const text = received.toString("utf8");
      const end = text.indexOf("\r\n\r\n");
      if (end < 0) return;
      const length = Number(/content-length: (\d+)/i.exec(text.slice(0, end))?.[1]);
      if (received.length < end + 4 + length) return;
      socket.destroy();
      resolve({
        status: Number(text.slice(9, 12)),
        body: received.subarray(end + 4, end + 4 + length).toString("utf8"),
      });
    });
    socket.on("error", reject);
  });
}

describe("the original challenge's Antaeus calling our payment", () => {
  it.each(ORIGINAL_REQUESTS)(
    "charges its exact request (customer $customerId): 200, a boolean result, one ledger row, currency not stated",
    async ({ customerId, amountMinor, body }) => {
      const before = (await payment.ledger()).length;
      const answer = await sendRaw(
        payment.process.port,
        originalRequestBytes(`localhost:${payment.process.port}`, body),
      );
      expect(answer.status).toBe(200);
      const json = JSON.parse(answer.body) as { result: unknown; currency: unknown };
      expect(typeof json.result).toBe("boolean");
      expect(json.currency).toBeNull();
      const rows = await payment.ledger();
      expect(rows).toHaveLength(before + 1);
      expect(rows.at(-1)).toMatchObject({
        customer_id: customerId,
        currency: null,
        amount_minor: amountMinor.toString(),
        idempotency_key: null,
        invoice_id: null,
      });
    },
  );

  it("makes each repeat of a keyless request a new charge", async () => {
    const { body } = ORIGINAL_REQUESTS[0];
    const host = `localhost:${payment.process.port}`;
    const before = (await payment.ledger()).length;
    await sendRaw(payment.process.port, originalRequestBytes(host, body));
    await sendRaw(payment.process.port, originalRequestBytes(host, body));
    expect((await payment.ledger()).length).toBe(before + 2);
  });

  it("takes {} as the only non-code currency: any other object is refused, naming the field", async () => {
    const response = await fetch(`${payment.url}/`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"currency":{"code":"EUR"},"customer_id":1,"value":70}',
    });
    await expectError(response, 400, "invalid_field", "currency must be one of");
  });

  it("serves POST / as the charge route and nothing else there", async () => {
    const response = await fetch(`${payment.url}/`);
    expect(response.status).toBe(405);
    expect(response.headers.get("allow")).toBe("POST");
  });
});
