import { createRoute } from "@hono/zod-openapi";
import type { Context } from "hono";
import * as z from "zod";
import { type AppEnv, declare, jsonContent, type Router, type Sql } from "../../runtime/index.js";
import type { BillingEngine } from "../billing/engine.js";
import { currentRate } from "../billing/provider-rate.js";
import { attemptsOf } from "../data/attempts.js";
import type { Db } from "../data/database.js";
import { findInvoice } from "../data/invoices.js";
import { lanesOf, providerSnapshot } from "../data/lanes.js";
import {
  type BillingRun,
  countsOf,
  findRun,
  findRunningRun,
  listRuns,
  settledOf,
} from "../data/runs.js";
import { providerRefusal } from "../domain/refusals.js";
import { COMPLETED, RUNNING } from "../domain/run.js";
import { errorContent, notFound } from "../errors.js";
import { triggerOf } from "./cloudevent.js";
import { idParams, laneParams, laneQuery, runListQuery } from "./params.js";
import {
  AttemptSchema,
  invalid,
  notFoundContent,
  PayAnswerSchema,
  RunDetailSchema,
  RunSchema,
  refusals,
} from "./schemas.js";

/** A run as clients read it: progress is `done` of `total`, with counts by outcome. */
export function runJson(run: BillingRun) {
  const counts = countsOf(run);
  return {
    id: run.id,
    trigger: run.trigger,
    status: run.status,
    dueThrough: run.dueThrough,
    startedAt: run.startedAt,
    finishedAt: run.finishedAt,
    total: run.total,
    done: settledOf(run),
    counts,
    /** Verdicts on scheduled retries, and how many of those were PAID. */
    retries: { done: run.retries, recovered: run.recovered },
    /** When the provider refused the run's charges: a configuration problem, named. */
    refusal: providerRefusal(counts),
  };
}

/**
 * A run with its lanes (which replica works each, how fast) and the provider's rate: the limit,
 * what AIMD allows now, the calls the working lanes make, and the run's 429s.
 */
export async function runDetailJson(sql: Sql, run: BillingRun, limit: number | undefined) {
  const [lanes, provider] = await Promise.all([lanesOf(sql, run.id), providerSnapshot(sql)]);
  const working = lanes.filter((lane) => lane.state === "working");
  return {
    ...runJson(run),
    lanes,
    provider: {
      limit: limit ?? null,
      rate: currentRate(limit, provider) ?? null,
      callsPerSecond: working.reduce((sum, lane) => sum + lane.callsPerSecond, 0),
      throttled: lanes.reduce((sum, lane) => sum + lane.throttled, 0),
    },
  };
}

const running = "this request's budget is spent before the run is done; ";

const pay = createRoute({
  method: "post",
  path: "/rest/v1/invoices/pay",
  tags: ["billing"],
  summary: "Starts a billing run, or joins the one in progress",
  description:
    "Also the PingSource's target: a binary-mode CloudEvent (ce-* headers) of type dev.knative.sources.ping is a scheduled trigger, answered once per (ce-source, ce-id).",
  responses: {
    200: jsonContent(PayAnswerSchema, "the run is done"),
    202: jsonContent(PayAnswerSchema, `${running}it goes on in its lanes`),
    400: errorContent("a malformed CloudEvent"),
    ...refusals,
  },
});

const resume = createRoute({
  method: "post",
  path: "/rest/v1/billing/resume",
  tags: ["billing"],
  summary: "The watchdog: restarts a run's lanes that stopped, or runs the retries that are due",
  description:
    "With no run in progress it starts a run with trigger retry when scheduled retries of soft declines are due (docs/billing.md); with none due it answers run null after delivering pending events.",
  responses: {
    200: jsonContent(
      // A union, not .nullable(): the generator drops nullable from a referenced schema.
      z.object({ run: z.union([RunSchema, z.null()]) }),
      "nothing to finish and no retry due, or the run is done",
    ),
    202: jsonContent(z.object({ run: RunSchema }), `${running}it goes on in its lanes`),
    400: errorContent("a malformed CloudEvent"),
    ...refusals,
  },
});

const runs = createRoute({
  method: "get",
  path: "/rest/v1/billing/runs",
  tags: ["billing"],
  summary: "Billing runs, newest first",
  request: { query: runListQuery },
  responses: { 200: jsonContent(z.array(RunSchema), "the runs"), 400: invalid, ...refusals },
});

const run = createRoute({
  method: "get",
  path: "/rest/v1/billing/runs/{id}",
  tags: ["billing"],
  summary: "One run's progress, its lanes and the provider's rate",
  request: { params: idParams("run id") },
  responses: {
    200: jsonContent(RunDetailSchema, "the run"),
    400: invalid,
    404: notFoundContent,
    ...refusals,
  },
});

const lane = createRoute({
  method: "post",
  path: "/rest/v1/billing/runs/{id}/lanes/{lane}",
  tags: ["billing"],
  summary: "One lane of a run, as Antaeus starts it and hands it on (docs/billing.md)",
  description:
    "Works the run for this request's budget with BILLING_CONCURRENCY charges in flight, then hands the lane on in a new request. A holder the slot no longer carries claims nothing.",
  request: { params: laneParams, query: laneQuery },
  responses: {
    200: jsonContent(RunSchema, "the run is done"),
    202: jsonContent(RunSchema, "this request's part is done; the run goes on"),
    400: invalid,
    404: notFoundContent,
    ...refusals,
  },
});

const attempts = createRoute({
  method: "get",
  path: "/rest/v1/invoices/{id}/attempts",
  tags: ["billing"],
  summary: "Every call made to the provider for an invoice",
  request: { params: idParams("invoice id") },
  responses: {
    200: jsonContent(z.array(AttemptSchema), "the attempts, oldest first"),
    400: invalid,
    404: notFoundContent,
    ...refusals,
  },
});

/**
 * The pay route: declared before the invoice routes, so "pay" is not read as an invoice id.
 * `chargesNow` says whether this caller's call charges soft declines before their retry is due.
 */
export function payRoute(
  app: Router,
  db: Db,
  engine: BillingEngine,
  chargesNow: (c: Context<AppEnv>) => boolean,
): void {
  declare(app, pay, async (c) => {
    const trigger = (await triggerOf(c)) ?? { kind: "api" as const, chargeNow: chargesNow(c) };
    const { run, created } = await engine.trigger(trigger, c.req.raw.signal);
    const { body, status } = await answer(db, run.id, { created });
    return c.json(body, status);
  });
}

export function billingRoutes(
  app: Router,
  deps: { db: Db; sql: Sql; engine: BillingEngine; providerRateLimit: number | undefined },
): void {
  const { db, sql, engine } = deps;
  declare(app, attempts, async (c) => {
    const { id } = c.req.valid("param");
    if (!(await findInvoice(db, id))) throw notFound(`invoice ${id}`);
    return c.json(await attemptsOf(db, id), 200);
  });
  declare(app, runs, async (c) => {
    const { limit = 50 } = c.req.valid("query");
    return c.json((await listRuns(db, limit)).map(runJson), 200);
  });
  declare(app, run, async (c) => {
    const { id } = c.req.valid("param");
    const found = await findRun(db, id);
    if (!found) throw notFound(`billing run ${id}`);
    return c.json(await runDetailJson(sql, found, deps.providerRateLimit), 200);
  });
  declare(app, lane, async (c) => {
    const { id, lane } = c.req.valid("param");
    const { holder } = c.req.valid("query");
    const found = await findRun(db, id);
    if (!found) throw notFound(`billing run ${id}`);
    if (found.status === RUNNING) await engine.lane(id, { lane, holder }, c.req.raw.signal);
    const { body, status } = await answer(db, id, {});
    return c.json(body, status);
  });
  declare(app, resume, async (c) => {
    await triggerOf(c); // a PingSource event must be well-formed, like on the pay route
    const inProgress = await findRunningRun(db);
    if (!inProgress) {
      // Nothing to finish: run the soft declines whose retry is due, if any (docs/billing.md).
      const retried = await engine.retryDue(c.req.raw.signal);
      if (!retried) {
        await engine.deliverEvents();
        return c.json({ run: null }, 200);
      }
      const { body, status } = await answer(db, retried.runId, {});
      return c.json({ run: body }, status);
    }
    c.get("log").info({ runId: inProgress.id }, "resuming a billing run");
    await engine.resume(inProgress, c.req.raw.signal);
    const { body, status } = await answer(db, inProgress.id, {});
    return c.json({ run: body }, status);
  });
}

/** Answers once the run is done (200) or this request's budget is spent (202, it goes on). */
async function answer(db: Db, runId: number, extra: Record<string, unknown>) {
  const found = await findRun(db, runId);
  if (!found) throw notFound(`billing run ${runId}`);
  return {
    body: { ...runJson(found), ...extra },
    status: found.status === COMPLETED ? (200 as const) : (202 as const),
  };
}
