import { Hono } from "hono";
import type { Logger } from "../logger.js";
import type { HttpMetrics } from "../web/metrics.js";
import { startServer } from "./server.js";

/**
 * /metrics alone on a port of its own, without the app's authentication, and the app's OpenAPI
 * document when given: the NetworkPolicy that admits only the monitoring namespace to this port
 * is its guard. Resolves to its shutdown.
 */
export async function serveMetricsAlone(
  metrics: HttpMetrics,
  where: { port: number; host: string },
  logger: Logger,
  openapi?: () => object,
): Promise<() => Promise<void>> {
  const app = new Hono();
  app.get("/metrics", metrics.expose);
  if (openapi) app.get("/openapi.json", (c) => c.json(openapi()));
  const server = await startServer({
    app,
    port: where.port,
    hostname: where.host,
    logger,
    shutdownTimeoutMs: 1_000,
  });
  logger.info({ port: server.port }, "metrics alone on their own port");
  return () => server.shutdown("metrics port closing");
}
