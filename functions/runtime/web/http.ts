import { randomUUID } from "node:crypto";
import { createRoute } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import { routePath } from "hono/route";
import * as z from "zod";
import type { Logger } from "../logger.js";
import type { AppEnv } from "./app-env.js";
import { onError, onNotFound } from "./errors.js";
import { jsonBodyLimit } from "./json-body.js";
import { createRouter, declare, type Router } from "./openapi.js";

const REQUEST_ID = /^[\w.:-]{1,128}$/;

/** The caller's X-Request-Id when it is sane, else a new one. */
export const requestIdOf = (given: string | undefined): string =>
  given && REQUEST_ID.test(given) ? given : randomUUID();

/** One log line per request; the caller's X-Request-Id is kept when it is sane, else one is made. */
function requestLog(logger: Logger): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const requestId = requestIdOf(c.req.header("x-request-id"));
    const log = logger.child({ requestId });
    c.set("requestId", requestId);
    c.set("log", log);
    const started = performance.now();
    // On the Node response when there is one: Node merges it into the answer's head, which
    // spares the answer a Headers object of its own (app.request has no Node response).
    const outgoing = c.env?.outgoing;
    outgoing?.setHeader("X-Request-Id", requestId);
    await next();
    if (!outgoing) c.res.headers.set("X-Request-Id", requestId);
    // The handler may have swapped in a child logger (with the caller's identity, say).
    c.get("log").info(
      {
        method: c.req.method,
        route: routePath(c),
        path: c.req.path,
        status: c.res.status,
        durationMs: Math.round((performance.now() - started) * 10) / 10,
        ...c.get("logFields"),
      },
      "request",
    );
  };
}

/**
 * What /readyz checks, under the name it reports: each resolves when that dependency can serve,
 * and throws, with the detail for the log, when it cannot.
 */
export type ReadinessChecks = Record<string, () => Promise<void>>;

/**
 * A dependency that cannot serve, with a closed code /readyz may show next to its name (the
 * probe is public: the detail, an address or an error, goes to the log only).
 */
export class DependencyProblem extends Error {
  override name = "DependencyProblem";
  constructor(
    readonly code: string,
    detail: string,
    cause?: unknown,
  ) {
    const because =
      cause instanceof Error ? `: ${cause.message}` : cause ? `: ${String(cause)}` : "";
    super(`${code}: ${detail}${because}`, cause === undefined ? undefined : { cause });
  }
}

/** Runs the checks; the failing ones by name, with their codes where they give one. */
async function failing(checks: ReadinessChecks, log: Logger, level: "warn" | "error") {
  const failed: string[] = [];
  const reasons: Record<string, string> = {};
  await Promise.all(
    Object.entries(checks).map(([dependency, check]) =>
      check().catch((error: unknown) => {
        log[level]({ dependency, err: error }, level === "warn" ? "not ready" : "degraded");
        failed.push(dependency);
        if (error instanceof DependencyProblem) reasons[dependency] = error.code;
      }),
    ),
  );
  failed.sort();
  return { failed, reasons };
}

/**
 * The shell both functions share: logging, JSON errors, 404/405, a cap on every request body,
 * and the Knative probes. /healthz says the process serves; /readyz says its dependencies answer.
 */
export function createApp(
  logger: Logger,
  readiness: ReadinessChecks,
  options: {
    bodyLimitBytes: number;
    /** Checked once ready: a failure is named in /readyz's 200 and logged as an error. */
    degraded?: ReadinessChecks;
  },
): Router {
  const app = createRouter();
  app.use(requestLog(logger));
  app.use(jsonBodyLimit(options.bodyLimitBytes));
  app.onError(onError(logger));
  app.notFound(onNotFound);
  declare(app, healthz, (c) => c.json({ status: "ok" as const }, 200));
  // Says which dependency is not ready, never its address or error text: the probe is public.
  declare(app, readyz, async (c) => {
    const log = c.get("log");
    const down = await failing(readiness, log, "warn");
    const withReasons = (reasons: Record<string, string>) =>
      Object.keys(reasons).length > 0 ? { reasons } : {};
    if (down.failed.length > 0) {
      const body = { status: "unavailable" as const, unavailable: down.failed };
      return c.json({ ...body, ...withReasons(down.reasons) }, 503);
    }
    const weak = await failing(options.degraded ?? {}, log, "error");
    if (weak.failed.length === 0) return c.json({ status: "ready" as const }, 200);
    return c.json(
      { status: "ready" as const, degraded: weak.failed, ...withReasons(weak.reasons) },
      200,
    );
  });
  return app;
}

const healthz = createRoute({
  method: "get",
  path: "/healthz",
  tags: ["probes"],
  summary: "Liveness: the process serves",
  responses: {
    200: {
      description: "serving",
      content: { "application/json": { schema: z.object({ status: z.literal("ok") }) } },
    },
  },
});

const readyz = createRoute({
  method: "get",
  path: "/readyz",
  tags: ["probes"],
  summary: "Readiness: every dependency answers",
  responses: {
    200: {
      description:
        "ready; `degraded` names what works only in part (e.g. tokens from an issuer that does not match)",
      content: {
        "application/json": {
          schema: z.object({
            status: z.literal("ready"),
            degraded: z.array(z.string()).optional(),
            reasons: z.record(z.string(), z.string()).optional(),
          }),
        },
      },
    },
    503: {
      description: "a dependency does not answer; named, never its address or error",
      content: {
        "application/json": {
          schema: z.object({
            status: z.literal("unavailable"),
            unavailable: z.array(z.string()),
            reasons: z.record(z.string(), z.string()).optional(),
          }),
        },
      },
    },
  },
});
