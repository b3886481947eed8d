// Payment on Fastify 5, a contender in bench:startup and bench:charges (bench/ports/payment-core.ts
// says what is shared). Fastify's own request logging is off: the port writes payment's one line
// per request, so both write the same log.
//   PORT, DATABASE_URL and payment's variables, as functions/payment/main.ts reads them

import { randomUUID } from "node:crypto";
import Fastify, { type FastifyReply } from "fastify";
import { type Answer, paymentCore } from "./payment-core.js";

const core = await paymentCore();
const app = Fastify({ bodyLimit: core.config.bodyLimitBytes, disableRequestLogging: true });

const send = (reply: FastifyReply, answer: Answer) =>
  reply.code(answer.status).headers(answer.headers).send(answer.body);

app.addHook("onRequest", async (request, reply) => {
  const requestId = (request.headers["x-request-id"] as string | undefined) ?? randomUUID();
  reply.header("X-Request-Id", requestId);
  (request as { started?: number }).started = performance.now();
});
app.addHook("onResponse", async (request, reply) => {
  const started = (request as { started?: number }).started ?? performance.now();
  const seconds = (performance.now() - started) / 1000;
  const route = request.routeOptions.url ?? "";
  core.metrics.record(request.method, route, reply.statusCode, seconds);
  core.logger.info(
    {
      requestId: reply.getHeader("X-Request-Id"),
      method: request.method,
      route,
      path: request.url,
      status: reply.statusCode,
      durationMs: Math.round(seconds * 10_000) / 10,
      ...(request as { logFields?: object }).logFields,
    },
    "request",
  );
});
app.setErrorHandler((error, _request, reply) => send(reply, core.failure(error)));

app.get("/healthz", async () => ({ status: "ok" }));
app.get("/readyz", async (_request, reply) => {
  try {
    await core.ready();
    return { status: "ready" };
  } catch {
    return reply.code(503).send({ status: "unavailable", unavailable: ["database"] });
  }
});
app.get("/metrics", async (_request, reply) =>
  reply.type(core.metrics.registry.contentType).send(await core.metrics.registry.metrics()),
);
app.post("/v1/charges", async (request, reply) => {
  await core.authenticate(request.headers.authorization);
  const key = request.headers["idempotency-key"];
  const { answer, logFields } = await core.charge(request.body, key as string | undefined);
  (request as { logFields?: object }).logFields = logFields;
  return send(reply, answer);
});

await app.listen({ port: core.config.port, host: "0.0.0.0" });
process.once("SIGTERM", async () => {
  await app.close();
  await core.close();
  process.exit(0);
});
