// The floor the functions are measured against: the least a charge endpoint can be in Node.
// One file, node:http and postgres.js, no framework, no auth, no logging. It opens its pool
// with `select 1` before listening, answers /readyz with a query, and per charge does what
// payment must: JSON.parse, the same field checks, one INSERT … RETURNING into the same ledger
// table. bench/startup.ts and bench/charges.ts bundle it with esbuild, as the functions are.
//   PORT, DATABASE_URL (a database where payment's migrations have run)

import { createHash, randomUUID } from "node:crypto";
import { createServer, type ServerResponse } from "node:http";
import postgres from "postgres";

const sql = postgres(process.env.DATABASE_URL ?? "", { max: 10, onnotice: () => {} });
await sql`select 1`;

const CURRENCIES = new Set(["EUR", "USD", "DKK", "SEK", "GBP"]);
const MAX_ID = 2_147_483_647;
const isId = (value: unknown) =>
  typeof value === "number" && Number.isInteger(value) && value >= 1 && value <= MAX_ID;

function send(response: ServerResponse, status: number, body: unknown) {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    "Content-Type": "application/json",
    "Content-Length": Buffer.byteLength(text),
  });
  response.end(text);
}

async function charge(text: string, key: string | undefined, response: ServerResponse) {
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text);
  } catch {
    return send(response, 400, { error: { code: "invalid_json" } });
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    return send(response, 400, { error: { code: "invalid_body" } });
  }
  const invoiceId = body.invoice_id ?? null;
  if (!isId(body.customer_id) || (invoiceId !== null && !isId(invoiceId))) {
    return send(response, 400, { error: { code: "invalid_field" } });
  }
  if (typeof body.currency !== "string" || !CURRENCIES.has(body.currency)) {
    return send(response, 400, { error: { code: "invalid_field" } });
  }
  const value = body.value;
  const minor =
    typeof value === "number" && Number.isFinite(value) && value > 0
      ? BigInt(Math.round(value * 100))
      : undefined;
  if (minor === undefined) return send(response, 400, { error: { code: "invalid_field" } });
  const hash = createHash("sha256")
    .update(JSON.stringify([body.customer_id, invoiceId, body.currency, minor.toString()]))
    .digest("hex");
  const succeeded = Math.random() < 0.5;
  const [row] = await sql`
    insert into payment.charges
      (id, idempotency_key, request_hash, invoice_id, customer_id, currency, amount_minor, status, reason)
    values (${randomUUID()}, ${key ?? null}, ${hash}, ${invoiceId as number | null},
      ${body.customer_id as number}, ${body.currency}, ${minor.toString()},
      ${succeeded ? "succeeded" : "declined"}, ${succeeded ? null : "insufficient_funds"})
    returning id, status`;
  send(response, 200, { charge_id: row?.id, status: row?.status });
}

const server = createServer((request, response) => {
  if (request.url === "/readyz") {
    sql`select 1`.then(
      () => send(response, 200, { status: "ready" }),
      () => send(response, 503, { status: "not ready" }),
    );
    return;
  }
  if (request.method !== "POST" || request.url !== "/v1/charges") {
    return send(response, 404, { error: { code: "not_found" } });
  }
  const chunks: Buffer[] = [];
  request.on("data", (chunk: Buffer) => chunks.push(chunk));
  request.on("end", () => {
    const key = request.headers["idempotency-key"];
    charge(Buffer.concat(chunks).toString("utf8"), key as string | undefined, response).catch(() =>
      send(response, 500, { error: { code: "internal_error" } }),
    );
  });
});
server.listen(Number(process.env.PORT ?? 8080), "0.0.0.0");
process.once("SIGTERM", () => {
  server.close();
  server.closeAllConnections();
  sql.end({ timeout: 1 }).then(() => process.exit(0));
});
