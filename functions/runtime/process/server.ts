import { createServer, type IncomingMessage, type ServerResponse, STATUS_CODES } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import type { Duplex } from "node:stream";
import { getRequestListener, RequestError } from "@hono/node-server";
import type { Logger } from "../logger.js";
import { errorBody, RUNTIME_ERROR_STATUS, type RuntimeErrorCode } from "../web/errors.js";
import { requestIdOf } from "../web/http.js";
import { ignoreUpgrades } from "./ignore-upgrades.js";

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
  const refuse = refusals(logger);
  const listener = getRequestListener(
    async (request, env) => {
      inFlight++;
      try {
        return await app.fetch(request, env as never);
      } finally {
        inFlight--;
        if (inFlight === 0) drained?.();
      }
    },
    {
      hostname: options.hostname ?? "0.0.0.0",
      // What the adapter cannot turn into a request (a Host or target URL it cannot parse).
      errorHandler: (error) => refuse.response(error),
    },
  );
  // Host is checked here, not by Node, so that its absence is answered like any other refusal.
  const server = createServer({ requireHostHeader: false }, (request, response) => {
    if (request.httpVersion === "1.1" && request.headers.host === undefined) {
      refuse.answer(response, "bad_request", "an HTTP/1.1 request needs a Host header");
      return;
    }
    return listener(request, response);
  });
  server.on("checkExpectation", (request, response) => {
    const requestId = requestIdOf(request.headers["x-request-id"] as string | undefined);
    refuse.answer(
      response,
      "expectation_failed",
      "only Expect: 100-continue is understood",
      requestId,
    );
  });
  server.on("clientError", refuse.clientError);
  // Node ends a connection after its last answer (HTTP/1.0, Connection: close) with destroySoon,
  // which destroys as soon as the write side is closed, while the client may still be sending.
  server.on("connection", (socket: Socket) => {
    socket.destroySoon = () => closeInStages(socket);
  });
  server.on("connect", refuse.connect);
  ignoreUpgrades(server);
  await new Promise<void>((resolve) =>
    server.listen(options.port, options.hostname ?? "0.0.0.0", resolve),
  );
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
        process.exit(1);
      }, shutdownTimeoutMs + 10_000).unref();
      running.shutdown(signal).then(
        () => {
          process.exit(0);
        },
        (error: unknown) => {
          logger.error({ err: error }, "shutdown failed");
          process.exit(1);
        },
      );
    });
  }
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

/**
 * Answers to requests refused before the app runs (Node's parser, the adapter), in the JSON
 * error shape, with a request id and a log line, like every answer the app gives.
 */
function refusals(logger: Logger) {
  const refusing = new WeakSet<Duplex>();
  const log = (requestId: string, status: number, code: RuntimeErrorCode, reason: string) =>
    logger.warn({ requestId, status, code, reason }, "request refused before routing");

  const answer = (
    response: ServerResponse,
    code: RuntimeErrorCode,
    message: string,
    requestId = requestIdOf(undefined),
  ) => {
    const status = RUNTIME_ERROR_STATUS[code];
    log(requestId, status, code, message);
    const body = JSON.stringify(errorBody(code, message));
    response.writeHead(status, {
      "Content-Type": "application/json",
      "Content-Length": Buffer.byteLength(body),
      "X-Request-Id": requestId,
      Connection: "close",
    });
    response.end(body);
  };

  return {
    answer,
    response(error: unknown): Response {
      const requestId = requestIdOf(undefined);
      const ours = !(error instanceof RequestError);
      const [code, message]: [RuntimeErrorCode, string] = ours
        ? ["internal_error", "internal error"]
        : ["bad_request", `the request cannot be read: ${error.message}`];
      const status = RUNTIME_ERROR_STATUS[code];
      if (ours) logger.error({ err: error, requestId }, "unhandled error");
      else log(requestId, status, code, error.message);
      return new Response(JSON.stringify(errorBody(code, message)), {
        status,
        headers: { "Content-Type": "application/json", "X-Request-Id": requestId },
      });
    },
    /** What Node's parser refuses; the status is the one Node itself would send. */
    clientError(error: NodeJS.ErrnoException, socket: Duplex) {
      // Closing already: what else arrives is read and dropped (see closeInStages).
      if (lingering.has(socket) && error.code !== "ECONNRESET") return;
      // The client went away: there is no one to answer.
      if (error.code === "ECONNRESET" || !socket.writable) {
        socket.destroy();
        return;
      }
      const [code, message]: [RuntimeErrorCode, string] =
        error.code === "HPE_HEADER_OVERFLOW"
          ? ["headers_too_large", "the request headers are too large"]
          : error.code === "HPE_CHUNK_EXTENSIONS_OVERFLOW"
            ? ["payload_too_large", "the chunk extensions are too large"]
            : error.code === "ERR_HTTP_REQUEST_TIMEOUT"
              ? ["request_timeout", "the request took too long to arrive"]
              : ["bad_request", "the request is not valid HTTP"];
      const status = RUNTIME_ERROR_STATUS[code];
      const requestId = requestIdOf(undefined);
      log(requestId, status, code, `${error.code ?? "error"}: ${error.message}`);
      // A pipelined request before the broken one, read whole, is still owed its answer: the
      // refusal waits for it, then closes (Node's default, lib/_http_server.js socketOnError,
      // would cut it). Node calls this again for each further chunk of the connection.
      if (refusing.has(socket)) return;
      refusing.add(socket);
      const whenAnswered = () => {
        const pending = (socket as { _httpMessage?: ServerResponse | null })._httpMessage;
        if (pending?.req?.complete && !pending.writableFinished && !pending.destroyed) {
          pending.once("close", () => setImmediate(whenAnswered));
          return;
        }
        // Node's own rule: never write into a response that has already begun.
        if (pending?.headersSent && !pending.writableFinished) {
          socket.destroy();
          return;
        }
        closeInStages(socket, rawAnswer(code, message, requestId));
      };
      whenAnswered();
    },
    /** CONNECT asks for a tunnel, which only a proxy gives: Node hands it over unanswered. */
    connect(request: IncomingMessage, socket: Duplex) {
      const requestId = requestIdOf(request.headers["x-request-id"] as string | undefined);
      const message = "CONNECT asks for a tunnel; this is not a proxy";
      log(requestId, RUNTIME_ERROR_STATUS.bad_request, "bad_request", message);
      closeInStages(socket, rawAnswer("bad_request", message, requestId));
    },
  };
}

/** An answer written straight to the socket, where there is no response object to write it. */
function rawAnswer(code: RuntimeErrorCode, message: string, requestId: string): string {
  const status = RUNTIME_ERROR_STATUS[code];
  const body = JSON.stringify(errorBody(code, message));
  return (
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n` +
    "Content-Type: application/json\r\n" +
    `Content-Length: ${Buffer.byteLength(body)}\r\n` +
    `X-Request-Id: ${requestId}\r\n` +
    "Connection: close\r\n\r\n" +
    body
  );
}

/** How long a connection we close keeps reading what its client still sends, at most. */
const LINGER_MS = 2_000;

/**
 * Closes in stages (RFC 9112 section 9.6), after writing `answer` if given: a destroy with the
 * client's bytes still unread makes the kernel reset the connection, and a reset can wipe our
 * last answer from the client's buffer before it is read. So the write side closes first, and
 * what still arrives is read and dropped until the client closes too, or LINGER_MS has passed.
 * A client's reset must not end the process (Node has taken its own error listener off a socket
 * at a parse error or a CONNECT), and a socket already ended gets nothing more.
 */
function closeInStages(socket: Duplex, answer?: string): void {
  if (lingering.has(socket)) return;
  lingering.add(socket);
  socket.on("error", () => socket.destroy());
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  if (answer === undefined) socket.end();
  else socket.end(answer);
  socket.on("end", () => socket.destroy());
  socket.resume();
  setTimeout(() => socket.destroy(), LINGER_MS).unref();
}

/** Connections closing in stages: what Node's parser still finds wrong on them is not answered. */
const lingering = new WeakSet<Duplex>();
