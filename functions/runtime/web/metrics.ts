import { createRoute } from "@hono/zod-openapi";
import type { Context, MiddlewareHandler } from "hono";
import { routePath } from "hono/route";
import { collectDefaultMetrics, Histogram, Registry } from "prom-client";
import * as z from "zod";
import { declare, type Router } from "./openapi.js";

export interface HttpMetrics {
  /** The function's own registry: add its counters here so /metrics shows them. */
  registry: Registry;
  /** Times every request that passes through it, labelled by route pattern, not raw path. */
  observe: MiddlewareHandler;
  /** One request's time, as `observe` records it (for servers that are not Hono apps). */
  record: (method: string, route: string, status: number, seconds: number) => void;
  /** GET /metrics in Prometheus text format. */
  expose: (c: Context) => Promise<Response>;
}

export function createHttpMetrics(): HttpMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const duration = new Histogram({
    name: "http_request_duration_seconds",
    help: "Time from receiving a request to its response, by method, route pattern and status",
    labelNames: ["method", "route", "status"] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const record = (method: string, route: string, status: number, seconds: number) =>
    duration.observe({ method, route, status: String(status) }, seconds);
  return {
    registry,
    observe: async (c, next) => {
      const started = performance.now();
      await next();
      record(c.req.method, routePath(c), c.res.status, (performance.now() - started) / 1000);
    },
    record,
    expose: async (c) =>
      c.body(await registry.metrics(), 200, { "Content-Type": registry.contentType }),
  };
}

const metricsRoute = createRoute({
  method: "get",
  path: "/metrics",
  tags: ["operations"],
  summary: "Prometheus metrics",
  responses: {
    200: {
      description: "Prometheus text format",
      content: { "text/plain": { schema: z.string() } },
    },
  },
});

/**
 * Times every request from here on and declares GET /metrics. A `guard` (authentication) runs
 * after the timer, so its refusals are timed too, and before /metrics, which it then covers.
 */
export function serveMetrics(app: Router, metrics: HttpMetrics, guard?: MiddlewareHandler): void {
  app.use(metrics.observe);
  if (guard) app.use(guard);
  declare(app, metricsRoute, metrics.expose);
}
