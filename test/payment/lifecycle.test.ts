import { describe, expect, it } from "vitest";
import { loadPaymentConfig } from "../../functions/payment/config.js";
import { ConfigError } from "../../functions/runtime/index.js";
import { inProcessPayment } from "../support/in-process.js";
import { startFunction } from "../support/processes.js";
import { type ChargeBody, ledgerOf, postCharge, startPayment } from "./support.js";

const aCharge = { invoice_id: 5, customer_id: 8, currency: "USD", value: "19.99" };

describe("a restart", () => {
  // What survives is what is in PostgreSQL: the app is built again from nothing on the same
  // database (in-process, as a new process builds it); SIGTERM's exit 0 is "SIGTERM" below.
  it("keeps the ledger and the idempotent answers, whatever the draw says now", async () => {
    const before = await inProcessPayment({ PAYMENT_AUTH: "off", PAYMENT_SUCCESS_RATE: "1" });
    const send = (app: typeof before.app) => (path: string, init: RequestInit) =>
      app.request(path, init);
    const first = await postCharge(send(before.app), aCharge, { key: "survives" });
    const firstText = await first.text();
    expect(JSON.parse(firstText)).toMatchObject({ result: true, status: "succeeded" });
    await before.close();

    // Same database, a provider that now declines everything.
    const after = await inProcessPayment(
      { PAYMENT_AUTH: "off", PAYMENT_SUCCESS_RATE: "0" },
      before.databaseUrl,
    );
    try {
      const replay = await postCharge(send(after.app), aCharge, { key: "survives" });
      expect(replay.headers.get("idempotent-replayed")).toBe("true");
      expect(await replay.text()).toBe(firstText);
      const fresh = (await (
        await postCharge(send(after.app), aCharge, { key: "new" })
      ).json()) as ChargeBody;
      expect(fresh.status).toBe("declined");
      expect((await ledgerOf(after.sql)()).map((r) => r.idempotency_key)).toEqual([
        "survives",
        "new",
      ]);
    } finally {
      await after.close();
    }
  });
});

describe("SIGTERM", () => {
  it("loses no log line: every charge answered has its line, and the last line says stopped", async () => {
    const payment = await startPayment({ PAYMENT_LATENCY_MS: "0-40" });
    try {
      const keys = Array.from({ length: 300 }, (_, i) => `shutdown-${i}`);
      const answered: string[] = [];
      let firstAnswer: () => void = () => {};
      const first = new Promise<void>((resolve) => {
        firstAnswer = resolve;
      });
      const charges = keys.map((key) =>
        postCharge(payment.url, aCharge, { key }).then(
          (response) => {
            if (response.ok) answered.push(key);
            firstAnswer();
          },
          () => {}, // refused once the server stopped accepting
        ),
      );
      // Stop while charges are in flight and their lines are still waiting to be written.
      await first;
      const stopped = await payment.process.stop("SIGTERM");
      await Promise.all(charges);
      expect(stopped.code).toBe(0);
      expect(answered.length).toBeGreaterThan(0);
      const logged = payment.process.logs
        .filter((line) => line.msg === "request" && line.route === "/v1/charges")
        .map((line) => String(line.idempotencyKey));
      expect(logged.sort()).toEqual(answered.sort());
      expect(payment.process.logs.at(-1)?.msg).toBe("stopped");
    } finally {
      await payment.stop();
    }
  });
});

describe("configuration errors stop the start with exit 1, naming the variable", () => {
  it.concurrent.each([
    ["PAYMENT_AUTH unset in production", { NODE_ENV: "production" }, "PAYMENT_AUTH: is required"],
    [
      "PAYMENT_AUTH=off in production",
      { NODE_ENV: "production", PAYMENT_AUTH: "off" },
      'PAYMENT_AUTH: "off" is refused when NODE_ENV=production',
    ],
  ])("%s", async (_, env, message) => {
    // Configuration is read before any connection is made: the URL need not lead anywhere.
    const child = await startFunction(
      "payment",
      { DATABASE_URL: "postgres://nobody@127.0.0.1:9/none", ...env },
      { waitForListening: false },
    );
    expect((await child.exited).code).toBe(1);
    expect(child.text.join("\n")).toContain(message);
  });

  it.each([
    ["PAYMENT_AUTH unset outside production", {}, ["PAYMENT_AUTH"]],
    [
      "PAYMENT_AUTH=jwks without what it verifies against",
      { PAYMENT_AUTH: "jwks" },
      ["PAYMENT_AUTH_ISSUER", "PAYMENT_AUTH_SUBJECT", "PAYMENT_AUTH_JWKS_URL"],
    ],
    [
      "a rate outside 0..1, a reversed latency range, an empty subject list",
      {
        PAYMENT_AUTH: "jwks",
        PAYMENT_AUTH_ISSUER: "https://issuer",
        PAYMENT_AUTH_JWKS_URL: "https://issuer/jwks",
        PAYMENT_AUTH_SUBJECT: " , ",
        PAYMENT_SUCCESS_RATE: "1.5",
        PAYMENT_LATENCY_MS: "80-20",
      },
      ["PAYMENT_SUCCESS_RATE", "PAYMENT_LATENCY_MS", "PAYMENT_AUTH_SUBJECT"],
    ],
  ])("%s (read by the same loader)", (_, env, variables) => {
    const load = () => loadPaymentConfig(env);
    expect(load).toThrow(ConfigError);
    for (const variable of variables) expect(load).toThrow(variable);
  });
});
