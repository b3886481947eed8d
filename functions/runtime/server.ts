import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { flushLogs, type Logger } from "./logger.js";

/** What the server needs of a Hono app, whatever its env type. */
export interface FetchApp {
  fetch: (request: Request, env: never) => Response | Promise<Response>;
}

export interface RunningServer {
  port: number;
  /** Stops accepting, lets in-flight requests finish within the bound, then runs the cleanups. */
  shutdown: (reason: string) => Promise<void>;
}

export interface ServeOptions {
  app: FetchApp;
  port: number;
  hostname?: string;
  logger: Logger;
  shutdownTimeoutMs: number;
  /** Run when shutdown begins, while requests still drain. */
  onShutdown?: () => void;
  /** Run after the last request has finished (or the bound has passed): close pools, flush. */
  cleanups?: Array<() => Promise<void>>;
}

export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const { app, logger } = options;
  let inFlight = 0;
  let drained: (() => void) | undefined;
  const server = await new Promise<Server>((resolve) => {
    const s = serve(
      {
        fetch: async (request, env) => {
          inFlight++;
          try {
            return await app.fetch(request, env as never);
          } finally {
            inFlight--;
            if (inFlight === 0) drained?.();
          }
        },
        port: options.port,
        hostname: options.hostname ?? "0.0.0.0",
      },
      () => resolve(s as Server),
    );
  });
  const port = (server.address() as AddressInfo).port;

  let stopping: Promise<void> | undefined;
  const shutdown = (reason: string) => {
    stopping ??= (async () => {
      logger.info({ reason, inFlight }, "shutting down: no new connections");
      options.onShutdown?.();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      if (inFlight > 0) {
        const finished = new Promise<void>((resolve) => {
          drained = resolve;
        });
        const timedOut = await Promise.race([
          finished.then(() => false),
          delay(options.shutdownTimeoutMs).then(() => true),
        ]);
        if (timedOut) logger.warn({ inFlight }, "shutdown bound reached; cutting open requests");
      }
      server.closeAllConnections();
      await closed;
      for (const cleanup of options.cleanups ?? []) await cleanup();
      logger.info("stopped");
    })();
    return stopping;
  };
  return { port, shutdown };
}

/** Knative sends SIGTERM and kills after the grace period; Ctrl-C locally sends SIGINT. */
export function exitOnSignals(
  running: RunningServer,
  logger: Logger,
  shutdownTimeoutMs: number,
): void {
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.once(signal, () => {
      // A cleanup that never returns (a pool waiting on a dead peer) must not keep the process
      // alive after its requests are done: give up a little after the drain bound.
      setTimeout(() => {
        logger.error("shutdown did not finish in time; exiting");
        flushLogs(logger);
        process.exit(1);
      }, shutdownTimeoutMs + 10_000).unref();
      running.shutdown(signal).then(
        () => {
          flushLogs(logger);
          process.exit(0);
        },
        (error: unknown) => {
          logger.error({ err: error }, "shutdown failed");
          flushLogs(logger);
          process.exit(1);
        },
      );
    });
  }
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());
