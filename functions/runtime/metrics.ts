import { type Handler, Hono, type MiddlewareHandler } from "hono";
import { routePath } from "hono/route";
import { collectDefaultMetrics, Histogram, Registry } from "prom-client";
import type { Logger } from "./logger.js";
import { startServer } from "./server.js";

export interface HttpMetrics {
  /** The function's own registry: add its counters here so /metrics shows them. */
  registry: Registry;
  /** Times every request that passes through it, labelled by route pattern, not raw path. */
  observe: MiddlewareHandler;
  /** GET /metrics in Prometheus text format. */
  expose: Handler;
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
  return {
    registry,
    observe: async (c, next) => {
      const stop = duration.startTimer();
      await next();
      stop({ method: c.req.method, route: routePath(c), status: String(c.res.status) });
    },
    expose: async (c) =>
      c.body(await registry.metrics(), 200, { "Content-Type": registry.contentType }),
  };
}

/**
 * /metrics alone on a port of its own, without the app's authentication: the NetworkPolicy that
 * admits only the monitoring namespace to this port is its guard. Resolves to its shutdown.
 */
export async function serveMetricsAlone(
  metrics: HttpMetrics,
  port: number,
  logger: Logger,
): Promise<() => Promise<void>> {
  const app = new Hono();
  app.get("/metrics", metrics.expose);
  const server = await startServer({ app, port, logger, shutdownTimeoutMs: 1_000 });
  logger.info({ port: server.port }, "metrics alone on their own port");
  return () => server.shutdown("metrics port closing");
}
