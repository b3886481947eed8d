import SwaggerParser from "@apidevtools/swagger-parser";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type InProcessSystem, inProcessSystem } from "./support/in-process.js";
import { pay, waitForRun } from "./support/system.js";

/**
 * The documents each function serves, validated by a real OpenAPI validator, and the answers
 * clients get checked against them: each status declared for its route and method, in the
 * declared content type, with a body the declared schema accepts.
 */
let system: InProcessSystem;
const documents: Record<string, OpenApiDocument> = {};

interface OpenApiDocument {
  paths: Record<string, Record<string, { responses: Record<string, Declared> }>>;
  components?: { schemas?: Record<string, unknown> };
}
interface Declared {
  content?: Record<string, { schema: unknown }>;
}

beforeAll(async () => {
  // Every decline hard, so runs count HARD_DECLINED and attempts carry a decline reason. Twenty
  // invoices at half success: a run without a PAID or without a HARD_DECLINED one comes once in
  // half a million runs (with six, once in 32: a loaded run saw it).
  system = await inProcessSystem({
    antaeus: { SEED_CUSTOMERS: "5", SEED_INVOICES_PER_CUSTOMER: "4" },
    payment: { PAYMENT_DECLINE_REASONS: "expired_card=1" },
  });
  for (const [name, base] of Object.entries(bases())) {
    const response = await fetch(`${base}/openapi.json`);
    documents[name] = (await response.json()) as OpenApiDocument;
  }
});
afterAll(async () => {
  await system?.stop();
});

const bases = () => ({ antaeus: system.url, payment: system.paymentUrl });

describe("the served OpenAPI documents", () => {
  it.each(["antaeus", "payment"])("%s's is a valid OpenAPI 3.1 document", async (name) => {
    const document = structuredClone(documents[name]);
    await expect(SwaggerParser.validate(document as never)).resolves.toBeDefined();
    expect((documents[name] as { openapi?: string }).openapi).toBe("3.1.0");
  });
});

/** The declared route for a concrete path: `/rest/v1/invoices/7` matches `/rest/v1/invoices/{id}`. */
function declaredFor(document: OpenApiDocument, method: string, path: string) {
  for (const [template, operations] of Object.entries(document.paths)) {
    const pattern = new RegExp(`^${template.replace(/\{\w+\}/g, "[^/]+")}$`);
    if (pattern.test(path) && operations[method])
      return { template, operation: operations[method] };
  }
  return undefined;
}

async function expectDeclared(
  fn: "antaeus" | "payment",
  method: string,
  path: string,
  init?: RequestInit,
) {
  const document = documents[fn] as OpenApiDocument;
  const response = await fetch(`${bases()[fn]}${path}`, { method: method.toUpperCase(), ...init });
  const declared = declaredFor(document, method, path.split("?")[0] ?? path);
  expect(declared, `${method} ${path} is declared`).toBeDefined();
  const answer = declared?.operation.responses[String(response.status)];
  expect(answer, `${method} ${path} → ${response.status} is declared`).toBeDefined();
  const [mediaType, media] = Object.entries(answer?.content ?? {})[0] ?? [];
  expect(response.headers.get("content-type") ?? "").toContain(mediaType ?? "none");
  if (mediaType !== "application/json") return response.status;
  const ajv = new Ajv2020({ strict: false });
  addFormats.default(ajv);
  ajv.addSchema({ $id: "doc", components: document.components ?? {} });
  const schema = JSON.parse(
    JSON.stringify(media?.schema).replaceAll('"#/components/', '"doc#/components/'),
  );
  const body = await response.json();
  const valid = ajv.validate(schema, body);
  expect(valid, `${method} ${path}: ${ajv.errorsText()}`).toBe(true);
  return response.status;
}

describe("answers match their declarations", () => {
  it("Antaeus: the original API, its errors and 404s", async () => {
    await expectDeclared("antaeus", "get", "/");
    await expectDeclared("antaeus", "get", "/rest/health");
    await expectDeclared("antaeus", "get", "/rest/v1/invoices");
    await expectDeclared("antaeus", "get", "/rest/v1/invoices?status=PENDING&customerId=1");
    await expectDeclared("antaeus", "get", "/rest/v1/invoices/1");
    await expectDeclared("antaeus", "get", "/rest/v1/invoices/abc");
    await expectDeclared("antaeus", "get", "/rest/v1/invoices/2147483647");
    await expectDeclared("antaeus", "get", "/rest/v1/invoices?status=LOST");
    await expectDeclared("antaeus", "get", "/rest/v1/customers");
    await expectDeclared("antaeus", "get", "/rest/v1/customers/1");
    await expectDeclared("antaeus", "get", "/rest/v1/customers/1/invoices?status=PAID");
    await expectDeclared("antaeus", "get", "/rest/v1/customers/999/invoices");
    await expectDeclared("antaeus", "get", "/healthz");
    await expectDeclared("antaeus", "get", "/readyz");
    await expectDeclared("antaeus", "get", "/metrics");
  });

  it("Antaeus: billing runs, attempts, the watchdog and the events", async () => {
    const { status, body } = await pay(system.url);
    expect([200, 202]).toContain(status);
    expect(body.counts.HARD_DECLINED).toBeGreaterThan(0);
    await expectDeclared("antaeus", "post", "/rest/v1/invoices/pay");
    await expectDeclared("antaeus", "get", "/rest/v1/billing/runs");
    await expectDeclared("antaeus", "get", "/rest/v1/billing/runs?limit=0");
    await expectDeclared("antaeus", "get", `/rest/v1/billing/runs/${body.id}`);
    await expectDeclared("antaeus", "get", "/rest/v1/billing/runs/99999");
    await expectDeclared(
      "antaeus",
      "post",
      `/rest/v1/billing/runs/${body.id}/lanes/1?holder=00000000-0000-4000-8000-000000000000`,
    );
    for (const id of [1, 2, 3, 4, 5, 6]) {
      await expectDeclared("antaeus", "get", `/rest/v1/invoices/${id}/attempts`);
    }
    await expectDeclared("antaeus", "post", "/rest/v1/billing/resume");
    await expectDeclared("antaeus", "post", "/rest/v1/invoices/pay", {
      headers: { "ce-specversion": "0.3" },
    });
    await expectDeclared("antaeus", "get", "/rest/v1/billing/events");
    await expectDeclared("antaeus", "get", "/rest/v1/billing/events?pending=true&limit=3");
    expect(await expectDeclared("antaeus", "get", "/rest/v1/billing/events?limit=0")).toBe(400);
    expect(await expectDeclared("antaeus", "get", "/rest/v1/billing/events?pending=1")).toBe(400);
  });

  it("Antaeus: the run pages, HTML for people and the API's errors", async () => {
    const { body } = await pay(system.url);
    expect(await expectDeclared("antaeus", "get", "/runs")).toBe(200);
    expect(await expectDeclared("antaeus", "get", `/runs/${body.id}`)).toBe(200);
    expect(await expectDeclared("antaeus", "get", "/runs/abc")).toBe(400);
    expect(await expectDeclared("antaeus", "get", "/runs/99999")).toBe(404);
  });

  it("Antaeus: operator actions, their refusals and their history", async () => {
    const base = system.url;
    const run = await waitForRun(base, (await pay(base)).body.id);
    const invoices = (await (await fetch(`${base}/rest/v1/invoices`)).json()) as Array<{
      id: number;
      status: string;
    }>;
    // Every decline here is hard (the payment's reasons), so a declined invoice waits for a
    // person; a PAID one waits for nobody.
    const hardDeclined = invoices.find((invoice) => invoice.status === "HARD_DECLINED");
    const settled = invoices.find((invoice) => invoice.status === "PAID");
    expect(hardDeclined && settled).toBeDefined();
    const post = (path: string, payload: unknown) =>
      expectDeclared("antaeus", "post", path, {
        headers: { "content-type": "application/json" },
        body: JSON.stringify(payload),
      });
    const reason = { reason: "checked with the provider" };
    expect(await post(`/rest/v1/invoices/${hardDeclined?.id}/requeue`, reason)).toBe(200);
    // An invoice that waits for nobody, and a run that is over: both 409.
    expect(await post(`/rest/v1/invoices/${settled?.id}/requeue`, reason)).toBe(409);
    expect(await post(`/rest/v1/billing/runs/${run.id}/cancel`, reason)).toBe(409);
    expect(await post("/rest/v1/invoices/1/requeue", { reason: "" })).toBe(400);
    expect(await post("/rest/v1/invoices/99999/requeue", reason)).toBe(404);
    expect(await post("/rest/v1/billing/runs/99999/cancel", reason)).toBe(404);
    await expectDeclared("antaeus", "get", "/rest/v1/invoices/1/actions");
    await expectDeclared("antaeus", "get", `/rest/v1/billing/runs/${run.id}/actions`);
    expect(await expectDeclared("antaeus", "get", "/rest/v1/billing/runs/99999/actions")).toBe(404);
  });

  it("payment: charges, replays, the ledger and its refusals", async () => {
    const charge = (key: string, body: unknown) =>
      expectDeclared("payment", "post", "/v1/charges", {
        headers: { "content-type": "application/json", "idempotency-key": key },
        body: JSON.stringify(body),
      });
    await charge("openapi-1", { customer_id: 1, invoice_id: 1, currency: "EUR", value: 10 });
    await charge("openapi-1", { customer_id: 1, invoice_id: 1, currency: "EUR", value: 10 });
    expect(await charge("openapi-1", { customer_id: 2, currency: "EUR", value: 10 })).toBe(422);
    expect(await charge("openapi-2", { customer_id: 1, currency: "EUR" })).toBe(400);
    await expectDeclared("payment", "get", "/v1/charges?idempotency_key=openapi-1");
    await expectDeclared("payment", "get", "/v1/charges?invoice_id=1");
    expect(await expectDeclared("payment", "get", "/v1/charges")).toBe(400);
    await expectDeclared("payment", "get", "/healthz");
  });
});
