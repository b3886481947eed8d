import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PaymentConfig } from "../../functions/payment/config.js";
import { expectError } from "../support/api-error.js";
import { type InProcessApp, inProcessPayment } from "../support/in-process.js";
import { type ChargeBody, ledgerOf, postCharge } from "./support.js";

/** The real payment function in-process: these are statements about its contract, not its process. */
let payment: InProcessApp<PaymentConfig>;
let ledger: ReturnType<typeof ledgerOf>;

beforeAll(async () => {
  payment = await inProcessPayment({ PAYMENT_AUTH: "off", PAYMENT_SEED: "7" });
  ledger = ledgerOf(payment.sql);
});
afterAll(() => payment?.close());

const request = (path: string, init?: RequestInit) => payment.app.request(path, init);
const charge = (body: unknown, options?: Parameters<typeof postCharge>[2]) =>
  postCharge(request, body, options);

const aCharge = { invoice_id: 12, customer_id: 3, currency: "DKK", value: 301.99 };

/** Keys whose seeded draw gives each outcome, found by asking the service. */
async function keyFor(outcome: "succeeded" | "declined", body: object = aCharge) {
  for (let i = 0; ; i++) {
    const key = `${outcome}-probe-${i}`;
    const response = await charge(body, { key });
    const answer = (await response.json()) as ChargeBody;
    if (answer.status === outcome) return { key, answer };
  }
}

describe("charging", () => {
  it("charges a client that sends only customer_id, currency and value", async () => {
    const response = await charge({ customer_id: 3, currency: "DKK", value: 301.99 });
    expect(response.status).toBe(200);
    const body = (await response.json()) as ChargeBody;
    expect(typeof body.result).toBe("boolean");
    expect(body).toMatchObject({
      charge_id: expect.stringMatching(/^ch_[0-9a-f]{24}$/),
      status: body.result ? "succeeded" : "declined",
      invoice_id: null,
      customer_id: 3,
      currency: "DKK",
      value: 301.99,
      idempotency_key: null,
    });
  });

  it("answers a charge with result true and a decline with result false and a reason", async () => {
    const { key: okKey, answer: ok } = await keyFor("succeeded");
    expect(ok).toEqual({
      result: true,
      charge_id: expect.stringMatching(/^ch_/),
      status: "succeeded",
      invoice_id: 12,
      customer_id: 3,
      currency: "DKK",
      value: 301.99,
      idempotency_key: okKey,
    });
    const { key: noKey, answer: no } = await keyFor("declined");
    expect(no).toEqual({
      result: false,
      // Which reason is drawn with the decline: decline-reasons.test.ts.
      reason: expect.stringMatching(
        /^(insufficient_funds|do_not_honor|try_again_later|expired_card|stolen_card|invalid_account)$/,
      ),
      charge_id: expect.stringMatching(/^ch_/),
      status: "declined",
      invoice_id: 12,
      customer_id: 3,
      currency: "DKK",
      value: 301.99,
      idempotency_key: noKey,
    });
  });

  it.each([
    [301.99, 301.99, "30199"],
    ["301.9", 301.9, "30190"],
    ["0.07", 0.07, "7"],
    [12, 12, "1200"],
    ["007.50", 7.5, "750"],
    [9999999999999.99, 9999999999999.99, "999999999999999"],
  ])(
    "takes value %j as a number or decimal string and keeps it exact",
    async (value, echoed, minor) => {
      const key = `exact-${String(value)}`;
      const response = await charge({ customer_id: 5, currency: "EUR", value }, { key });
      expect(response.status).toBe(200);
      expect(((await response.json()) as ChargeBody).value).toBe(echoed);
      const [row] = (await ledger()).filter((r) => r.idempotency_key === key);
      expect(row?.amount_minor).toBe(minor);
    },
  );

  it("ignores fields it does not know", async () => {
    const response = await charge({ ...aCharge, description: "x", metadata: { a: 1 } });
    expect(response.status).toBe(200);
  });

  it("makes every call without an Idempotency-Key a new charge", async () => {
    const body = { customer_id: 77, currency: "SEK", value: 10 };
    const first = (await (await charge(body)).json()) as ChargeBody;
    const second = (await (await charge(body)).json()) as ChargeBody;
    expect(first.charge_id).not.toBe(second.charge_id);
    const rows = (await ledger()).filter((r) => r.customer_id === 77);
    expect(rows).toHaveLength(2);
    expect(rows.every((r) => r.idempotency_key === null)).toBe(true);
  });
});

describe("bad requests get a 4xx JSON error naming the field", () => {
  it.each([
    [{ currency: "EUR", value: 1 }, "missing_field", "customer_id is required"],
    [{ customer_id: 1, value: 1 }, "missing_field", "currency is required"],
    [{ customer_id: 1, currency: "EUR" }, "missing_field", "value is required"],
    [{ customer_id: "1", currency: "EUR", value: 1 }, "invalid_field", "customer_id"],
    [{ customer_id: 0, currency: "EUR", value: 1 }, "invalid_field", "customer_id"],
    [{ customer_id: 1.5, currency: "EUR", value: 1 }, "invalid_field", "customer_id"],
    [{ customer_id: 2147483648, currency: "EUR", value: 1 }, "invalid_field", "customer_id"],
    [{ customer_id: 1, invoice_id: -4, currency: "EUR", value: 1 }, "invalid_field", "invoice_id"],
    [
      { customer_id: 1, invoice_id: "12", currency: "EUR", value: 1 },
      "invalid_field",
      "invoice_id",
    ],
    [{ customer_id: 1, currency: "NOK", value: 1 }, "invalid_field", "currency must be one of"],
    [{ customer_id: 1, currency: "eur", value: 1 }, "invalid_field", "currency"],
    [{ customer_id: 1, currency: 978, value: 1 }, "invalid_field", "currency"],
    [
      { customer_id: 1, currency: "EUR", value: 0 },
      "invalid_field",
      "value must be greater than 0",
    ],
    [{ customer_id: 1, currency: "EUR", value: "0.00" }, "invalid_field", "greater than 0"],
    [
      { customer_id: 1, currency: "EUR", value: -5 },
      "invalid_field",
      "value must be greater than 0",
    ],
    [{ customer_id: 1, currency: "EUR", value: "-5" }, "invalid_field", "greater than 0"],
    [
      { customer_id: 1, currency: "EUR", value: 1.234 },
      "invalid_field",
      "value must have at most two decimals",
    ],
    [{ customer_id: 1, currency: "EUR", value: "1.234" }, "invalid_field", "at most two decimals"],
    [{ customer_id: 1, currency: "EUR", value: 1e-7 }, "invalid_field", "at most two decimals"],
    [{ customer_id: 1, currency: "EUR", value: 1e300 }, "invalid_field", "value must be at most"],
    [
      { customer_id: 1, currency: "EUR", value: "Infinity" },
      "invalid_field",
      "value must be a finite number",
    ],
    [
      { customer_id: 1, currency: "EUR", value: "NaN" },
      "invalid_field",
      "value must be a finite number",
    ],
    [
      { customer_id: 1, currency: "EUR", value: "12,50" },
      "invalid_field",
      "value must be a JSON number or a decimal string",
    ],
    [{ customer_id: 1, currency: "EUR", value: "1e3" }, "invalid_field", "value"],
    [{ customer_id: 1, currency: "EUR", value: true }, "invalid_field", "value"],
    [{ customer_id: 1, currency: "EUR", value: { amount: 1 } }, "invalid_field", "value"],
    [[1, 2], "invalid_body", "JSON object"],
    ["null", "invalid_body", "JSON object"],
  ])("%j → 400 %s, and nothing written", async (body, code, mentions) => {
    const before = (await ledger()).length;
    await expectError(await charge(body), 400, code, mentions);
    expect(await ledger()).toHaveLength(before);
  });

  it("400s a body that is not JSON", async () => {
    await expectError(await charge("{customer_id: 1"), 400, "invalid_json", "not valid JSON");
  });

  it("415s a body that is not declared as JSON", async () => {
    for (const type of ["text/plain", "application/x-www-form-urlencoded", ""]) {
      const response = await request(`/v1/charges`, {
        method: "POST",
        headers: type ? { "Content-Type": type } : {},
        body: new Blob([JSON.stringify(aCharge)]),
      });
      await expectError(response, 415, "unsupported_media_type", "application/json");
    }
    expect(
      (await charge(aCharge, { headers: { "Content-Type": "application/json; charset=utf-8" } }))
        .status,
    ).toBe(200);
  });

  it("413s a body over 16 KiB, whether or not it declares its length, and charges nothing", async () => {
    // A body's length is the transport's (Content-Length, or chunks): the app served on a port
    // by the runtime's own server, with its body limit.
    const url = await payment.listen();
    const before = (await ledger()).length;
    const big = JSON.stringify({ ...aCharge, padding: "x".repeat(16 * 1024) });
    await expectError(
      await postCharge(url, big, { key: "too-big" }),
      413,
      "payload_too_large",
      "16384 bytes",
    );
    const chunked = await fetch(`${url}/v1/charges`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "Idempotency-Key": "too-big-streamed" },
      body: new Blob([big]).stream(),
      duplex: "half",
    } as RequestInit);
    await expectError(chunked, 413, "payload_too_large", "bytes");
    expect(await ledger()).toHaveLength(before);
    // Neither key was used: the same key with a body of a normal size is a first charge.
    const retried = await charge(aCharge, { key: "too-big" });
    expect(retried.status).toBe(200);
    expect(retried.headers.get("idempotent-replayed")).toBeNull();
  });

  it.each([
    ["", "empty"],
    ["k".repeat(256), "256 characters"],
    ["caf\u00e9", "non-ASCII"],
  ])("400s an Idempotency-Key that is %s (%s)", async (key) => {
    await expectError(
      await charge(aCharge, { key }),
      400,
      "invalid_idempotency_key",
      "Idempotency-Key must be 1 to 255 printable ASCII characters",
    );
  });

  it("405s another method on /v1/charges, with Allow", async () => {
    const response = await request(`/v1/charges`, { method: "PUT" });
    expect(response.headers.get("allow")).toBe("GET, POST, HEAD");
    await expectError(response, 405, "method_not_allowed", "PUT");
  });
});

describe("idempotency", () => {
  it("answers a repeat of a key with the first outcome, byte for byte, and charges nothing more", async () => {
    for (const outcome of ["succeeded", "declined"] as const) {
      const { key, answer: first } = await keyFor(outcome, { ...aCharge, invoice_id: 40 });
      const rowsBefore = (await ledger()).length;
      const replay = await charge({ ...aCharge, invoice_id: 40 }, { key });
      const replayText = await replay.text();
      expect(replay.headers.get("idempotent-replayed")).toBe("true");
      expect(JSON.parse(replayText)).toEqual(first);
      // The same request, written differently: field order, a string amount, an unknown field.
      const again = await charge(
        { value: "301.99", currency: "DKK", customer_id: 3, invoice_id: 40, note: "retry" },
        { key },
      );
      expect(again.status).toBe(200);
      expect(again.headers.get("idempotent-replayed")).toBe("true");
      expect(await again.text()).toBe(replayText);
      expect(first).toMatchObject({ status: outcome, idempotency_key: key });
      expect(await ledger()).toHaveLength(rowsBefore);
    }
  });

  it("does not mark a first answer as replayed", async () => {
    const response = await charge(aCharge, { key: "fresh-key-1" });
    expect(response.status).toBe(200);
    expect(response.headers.get("idempotent-replayed")).toBeNull();
  });

  it("422s a key reused with a different body, and keeps the first charge", async () => {
    await charge(aCharge, { key: "reused-key" });
    for (const changed of [
      { ...aCharge, value: 302 },
      { ...aCharge, currency: "EUR" },
      { ...aCharge, customer_id: 4 },
      { ...aCharge, invoice_id: 13 },
      { customer_id: 3, currency: "DKK", value: 301.99 },
    ]) {
      await expectError(
        await charge(changed, { key: "reused-key" }),
        422,
        "idempotency_key_reused",
        "Idempotency-Key",
      );
    }
    const rows = (await ledger()).filter((r) => r.idempotency_key === "reused-key");
    expect(rows).toHaveLength(1);
    expect(rows[0]?.amount_minor).toBe("30199");
  });

  it("charges once when 50 requests with one key arrive together; all get the same answer", async () => {
    const key = "concurrent-key";
    const body = { ...aCharge, invoice_id: 50 };
    const responses = await Promise.all(Array.from({ length: 50 }, () => charge(body, { key })));
    expect(responses.map((r) => r.status)).toEqual(Array(50).fill(200));
    const texts = await Promise.all(responses.map((r) => r.text()));
    expect(new Set(texts).size).toBe(1);
    const replayed = responses.filter((r) => r.headers.get("idempotent-replayed") === "true");
    expect(replayed).toHaveLength(49);
    const rows = (await ledger()).filter((r) => r.idempotency_key === key);
    expect(rows).toHaveLength(1);
    expect(JSON.parse(texts[0] ?? "")).toMatchObject({ charge_id: rows[0]?.id });
  });
});

describe("reading the ledger", () => {
  it("finds the charge of an idempotency key, with when it was recorded", async () => {
    const made = (await (
      await charge({ ...aCharge, invoice_id: 60 }, { key: "lookup-key" })
    ).json()) as ChargeBody;
    const response = await request(`/v1/charges?idempotency_key=lookup-key`);
    expect(response.status).toBe(200);
    const { charges } = (await response.json()) as { charges: ChargeBody[] };
    expect(charges).toEqual([{ ...made, created_at: expect.any(String) }]);
    expect(Date.parse(charges[0]?.created_at ?? "")).toBeGreaterThan(Date.now() - 60_000);
  });

  it("lists every attempt at an invoice, oldest first", async () => {
    const body = { ...aCharge, invoice_id: 61 };
    const ids: string[] = [];
    for (const key of ["inv61-a", "inv61-b", undefined]) {
      const made = (await (await charge(body, key ? { key } : {})).json()) as ChargeBody;
      ids.push(made.charge_id);
    }
    const { charges } = (await (await request(`/v1/charges?invoice_id=61`)).json()) as {
      charges: ChargeBody[];
    };
    expect(charges.map((c) => c.charge_id)).toEqual(ids);
    expect(charges.map((c) => c.idempotency_key)).toEqual(["inv61-a", "inv61-b", null]);
  });

  it("answers an empty list for a key never used", async () => {
    const response = await request(`/v1/charges?idempotency_key=never-used`);
    expect(await response.json()).toEqual({ charges: [] });
  });

  it.each([
    ["", "exactly one of idempotency_key or invoice_id"],
    ["?idempotency_key=a&invoice_id=1", "exactly one of"],
    ["?invoice_id=abc", "invoice_id must be an integer"],
    ["?invoice_id=0", "invoice_id must be an integer"],
    ["?invoice_id=1&invoice_id=2", "invoice_id at most once"],
    [`?idempotency_key=${"k".repeat(256)}`, "idempotency_key must be 1 to 255"],
  ])("400s the query %j", async (query, mentions) => {
    const response = await request(`/v1/charges${query}`);
    const code = mentions.startsWith("idempotency_key")
      ? "invalid_idempotency_key"
      : "invalid_query";
    await expectError(response, 400, code, mentions);
  });
});

describe("operations", () => {
  it("answers the probes", async () => {
    expect((await request(`/healthz`)).status).toBe(200);
    expect(await (await request(`/readyz`)).json()).toEqual({ status: "ready" });
  });

  it("exposes charges by outcome and request latency by route at /metrics", async () => {
    const response = await request(`/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/plain/);
    const text = await response.text();
    for (const outcome of ["succeeded", "declined", "replayed"]) {
      expect(text).toMatch(new RegExp(`payment_charges_total\\{outcome="${outcome}"\\} [1-9]`));
    }
    expect(text).toContain('payment_charges_total{outcome="unavailable"} 0');
    expect(text).toMatch(
      /http_request_duration_seconds_count\{method="POST",route="\/v1\/charges",status="200"\} [1-9]/,
    );
    expect(text).toMatch(
      /http_request_duration_seconds_bucket\{le="0.1",method="POST",route="\/v1\/charges",status="400"\}/,
    );
  });

  it("logs each charge with its idempotency key and invoice id", async () => {
    const made = (await (
      await charge({ ...aCharge, invoice_id: 70 }, { key: "logged-key" })
    ).json()) as ChargeBody;
    await expect
      .poll(() => payment.logs.find((l) => l.chargeId === made.charge_id))
      .toMatchObject({
        level: "info",
        idempotencyKey: "logged-key",
        invoiceId: 70,
        charge: made.status,
        status: 200,
        replayed: false,
        requestId: expect.any(String),
      });
  });

  it("warns at start that auth is off, and of no fault, since none is on by default", () => {
    const warnings = payment.logs.filter((l) => l.level === "warn").map((l) => l.msg);
    expect(warnings).toEqual([expect.stringContaining("PAYMENT_AUTH=off")]);
  });
});
