// Payment on Express 5, a contender in bench:startup and bench:charges (bench/ports/payment-core.ts
// says what is shared), writing payment's one log line per request.
//   PORT, DATABASE_URL and payment's variables, as functions/payment/main.ts reads them

import { randomUUID } from "node:crypto";
import express, { type NextFunction, type Request, type Response } from "express";
import { type Answer, paymentCore } from "./payment-core.js";

const core = await paymentCore();
const app = express();
app.disable("x-powered-by");
app.disable("etag");

const send = (response: Response, answer: Answer) =>
  response.status(answer.status).set(answer.headers).json(answer.body);

app.use((request, response, next) => {
  const requestId = request.get("x-request-id") ?? randomUUID();
  response.set("X-Request-Id", requestId);
  const started = performance.now();
  response.on("finish", () => {
    const seconds = (performance.now() - started) / 1000;
    const route = (request.route as { path?: string } | undefined)?.path ?? "";
    core.metrics.record(request.method, route, response.statusCode, seconds);
    core.logger.info(
      {
        requestId,
        method: request.method,
        route,
        path: request.path,
        status: response.statusCode,
        durationMs: Math.round(seconds * 10_000) / 10,
        ...response.locals.logFields,
      },
      "request",
    );
  });
  next();
});

app.get("/healthz", (_request, response) => {
  response.json({ status: "ok" });
});
app.get("/readyz", async (_request, response) => {
  try {
    await core.ready();
    response.json({ status: "ready" });
  } catch {
    response.status(503).json({ status: "unavailable", unavailable: ["database"] });
  }
});
app.get("/metrics", async (_request, response) => {
  response.type(core.metrics.registry.contentType).send(await core.metrics.registry.metrics());
});
app.post(
  "/v1/charges",
  express.json({ limit: core.config.bodyLimitBytes }),
  async (request, response) => {
    await core.authenticate(request.get("authorization"));
    const { answer, logFields } = await core.charge(request.body, request.get("idempotency-key"));
    response.locals.logFields = logFields;
    send(response, answer);
  },
);
app.use((error: unknown, _request: Request, response: Response, _next: NextFunction) => {
  send(response, core.failure(error));
});

const server = app.listen(core.config.port, "0.0.0.0");
process.once("SIGTERM", () => {
  server.close();
  server.closeAllConnections();
  core.close().then(() => process.exit(0));
});
