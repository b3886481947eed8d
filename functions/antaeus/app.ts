import type { Hono } from "hono";
import { checkSchemaCurrent, type Sql } from "../runtime/database.js";
import { methodNotAllowed } from "../runtime/errors.js";
import { type AppEnv, createApp } from "../runtime/http.js";
import type { Logger } from "../runtime/logger.js";
import type { HttpMetrics } from "../runtime/metrics.js";
import type { BillingEngine } from "./billing/engine.js";
import { createDb, migrations } from "./data/database.js";
import { billingRoutes } from "./rest/billing.js";
import { customerRoutes } from "./rest/customers.js";
import { eventRoutes } from "./rest/events.js";
import { invoiceRoutes } from "./rest/invoices.js";

/**
 * The largest body an Antaeus route takes: a CloudEvent's data (no other route reads a body).
 * The CloudEvents spec asks consumers to accept events of at least 64 KiB, attributes and data
 * together (cloudevents/spec, cloudevents/spec.md "Size Limits", v1.0.2); a PingSource's data
 * is a few dozen bytes.
 */
const BODY_LIMIT_BYTES = 64 * 1024;

/**
 * Antaeus's routes: the original REST API, billing, /metrics for Prometheus, and the Knative
 * probes from the shared shell.
 */
export function antaeusApp(deps: {
  sql: Sql;
  logger: Logger;
  engine: BillingEngine;
  metrics: HttpMetrics;
}): Hono<AppEnv> {
  const db = createDb(deps.sql);
  const app = createApp(
    deps.logger,
    { database: () => checkSchemaCurrent(deps.sql, migrations) },
    { bodyLimitBytes: BODY_LIMIT_BYTES },
  );
  app.use(deps.metrics.observe);
  app.get("/metrics", deps.metrics.expose);
  app.all("/metrics", methodNotAllowed(["GET"]));

  // The original's greeting and health check, kept for clients written against it.
  app.get("/", (c) => c.text("Welcome to Antaeus! see the README for the routes"));
  app.all("/", methodNotAllowed(["GET"]));
  app.get("/rest/health", (c) => c.json("ok"));
  app.all("/rest/health", methodNotAllowed(["GET"]));

  const billing = billingRoutes(db, deps.engine);
  // Before the invoice routes, so "pay" is not read as an invoice id.
  app.route("/rest/v1/invoices/pay", billing.pay);
  app.route("/rest/v1/invoices", billing.attempts);
  app.route("/rest/v1/invoices", invoiceRoutes(db));
  app.route("/rest/v1/customers", customerRoutes(db));
  app.route("/rest/v1/billing/runs", billing.runs);
  app.route("/rest/v1/billing/resume", billing.resume);
  app.route("/rest/v1/billing/events", eventRoutes(db));
  return app;
}
