import { Hono } from "hono";
import type { Logger } from "../logger.js";
import type { HttpMetrics } from "../web/metrics.js";
import { startServer } from "./server.js";

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
