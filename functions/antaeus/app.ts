import { createRoute } from "@hono/zod-openapi";
import * as z from "zod";
import {
  checkSchemaCurrent,
  createApp,
  declare,
  type HttpMetrics,
  jsonContent,
  type Logger,
  type Router,
  type Sql,
  serveDocs,
  serveMetrics,
  textContent,
} from "../runtime/index.js";
import { accessGuard, callerVerifier, chargesNow } from "./auth/guard.js";
import { openApiSecurity } from "./auth/openapi-security.js";
import type { AuthSettings } from "./auth/settings.js";
import type { BillingEngine } from "./billing/engine.js";
import { createDb, migrations } from "./data/database.js";
import { runPages } from "./pages/routes.js";
import { signInRoutes } from "./pages/sign-in.js";
import { billingRoutes, payRoute } from "./rest/billing.js";
import { customerRoutes } from "./rest/customers.js";
import { eventRoutes } from "./rest/events.js";
import { invoiceRoutes } from "./rest/invoices.js";
import { operatorActionRoutes } from "./rest/operator-actions.js";
import { refusals } from "./rest/schemas.js";

/**
 * The largest body an Antaeus route takes: a CloudEvent's data (the only other body is an
 * operator action's reason, at most 1000 characters). The CloudEvents spec asks consumers to accept events of at least 64 KiB, attributes and data
 * together (cloudevents/spec, cloudevents/spec.md "Size Limits", v1.0.2); a PingSource's data
 * is a few dozen bytes.
 */
const BODY_LIMIT_BYTES = 64 * 1024;

/**
 * Antaeus's routes: the original REST API, billing, the run pages, /metrics for Prometheus, and the Knative
 * probes from the shared shell.
 */
export function antaeusApp(deps: {
  sql: Sql;
  logger: Logger;
  engine: BillingEngine;
  metrics: HttpMetrics;
  auth: AuthSettings;
  /** BILLING_PROVIDER_RATE_LIMIT, shown with each run. */
  providerRateLimit: number | undefined;
}): Router {
  const db = createDb(deps.sql);
  // One verifier for the guard and the run pages' sign-in: one rule, one cache of keys.
  const callers = deps.auth.mode === "on" ? callerVerifier(deps.auth.file, deps.logger) : undefined;
  const verify = callers?.verify;
  // Tokens that cannot be verified degrade Antaeus, never make it unready: the probes, the open
  // routes of the challenge profile and billing itself need no caller's token.
  const app = createApp(
    deps.logger,
    { database: () => checkSchemaCurrent(deps.sql, migrations) },
    {
      bodyLimitBytes: BODY_LIMIT_BYTES,
      ...(callers ? { degraded: { tokens: callers.tokens } } : {}),
    },
  );
  serveMetrics(app, deps.metrics, accessGuard(deps.auth, verify, deps.logger));

  // The original's greeting and health check, kept for clients written against it.
  declare(app, welcome, (c) => c.text("Welcome to Antaeus! see /docs for the routes"));
  declare(app, health, (c) => c.json("ok" as const, 200));

  // In matching order: "pay" before the invoice routes, so it is not read as an invoice id.
  payRoute(app, db, deps.engine, chargesNow(deps.auth));
  billingRoutes(app, {
    db,
    sql: deps.sql,
    engine: deps.engine,
    providerRateLimit: deps.providerRateLimit,
  });
  operatorActionRoutes(app, deps.sql);
  invoiceRoutes(app, db);
  customerRoutes(app, db);
  eventRoutes(app, db);
  // The run pages for people, over the same data as the billing routes; the sign-in first, so
  // "/runs/sign-in" is not read as a run id.
  signInRoutes(app, verify, deps.auth.mode === "on" && deps.auth.httpsSignIn);
  runPages(app, db, deps.sql, deps.providerRateLimit);
  serveDocs(
    app,
    {
      title: "Antaeus",
      description:
        "The original invoice and customer API, and billing: runs that charge every due invoice through the payment provider.",
    },
    openApiSecurity(deps.auth),
  );
  return app;
}

const text = (description: string) => textContent("text/plain", description);

const welcome = createRoute({
  method: "get",
  path: "/",
  tags: ["original"],
  summary: "The original's greeting",
  responses: { 200: text("a welcome line"), ...refusals },
});

const health = createRoute({
  method: "get",
  path: "/rest/health",
  tags: ["original"],
  summary: "The original's health check",
  responses: { 200: jsonContent(z.literal("ok"), '"ok"'), ...refusals },
});
