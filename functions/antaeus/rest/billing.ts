import { Hono } from "hono";
import { badRequest, methodNotAllowed, notFound } from "../../runtime/errors.js";
import type { AppEnv } from "../../runtime/http.js";
import type { BillingEngine } from "../billing/engine.js";
import { attemptsOf } from "../data/attempts.js";
import type { Db } from "../data/database.js";
import { findInvoice } from "../data/invoices.js";
import { type BillingRun, findRun, findRunningRun, listRuns } from "../data/runs.js";
import { parseId } from "../domain/ids.js";
import { triggerOf } from "./cloudevent.js";

/** A run as clients read it: progress is `done` of `total`, with counts by outcome. */
export function runJson(run: BillingRun) {
  const counts = {
    PAID: run.paid,
    DECLINED: run.declined,
    REJECTED: run.rejected,
    NETWORK_ERROR: run.networkError,
    OUTCOME_UNKNOWN: run.outcomeUnknown,
    CURRENCY_MISMATCH: run.currencyMismatch,
    CUSTOMER_NOT_FOUND: run.customerNotFound,
    RETRIES_EXHAUSTED: run.retriesExhausted,
    HARD_DECLINED: run.hardDeclined,
  };
  return {
    id: run.id,
    trigger: run.trigger,
    status: run.status,
    dueThrough: run.dueThrough,
    startedAt: run.startedAt,
    finishedAt: run.finishedAt,
    total: run.total,
    done: Object.values(counts).reduce((sum, n) => sum + n, 0),
    counts,
    /** Verdicts on scheduled retries, and how many of those were PAID. */
    retries: { done: run.retries, recovered: run.recovered },
  };
}

export function billingRoutes(
  db: Db,
  engine: BillingEngine,
): { pay: Hono<AppEnv>; resume: Hono<AppEnv>; runs: Hono<AppEnv>; attempts: Hono<AppEnv> } {
  /** Answers once the run is done (200) or this request's budget is spent (202, it goes on). */
  const answer = async (runId: number, extra: Record<string, unknown>) => {
    const run = await findRun(db, runId);
    if (!run) throw notFound(`billing run ${runId}`);
    return {
      body: { ...runJson(run), ...extra },
      status: run.status === "COMPLETED" ? (200 as const) : (202 as const),
    };
  };

  const pay = new Hono<AppEnv>();
  pay.post("/", async (c) => {
    const trigger = await triggerOf(c);
    const { run, created } = await engine.trigger(trigger, c.req.raw.signal);
    const { body, status } = await answer(run.id, { created });
    return c.json(body, status);
  });
  pay.all("/", methodNotAllowed(["POST"]));

  // The watchdog: finishes a run whose chain of continuations broke; never starts one.
  const resume = new Hono<AppEnv>();
  resume.post("/", async (c) => {
    await triggerOf(c); // a PingSource event must be well-formed, like on the pay route
    const running = await findRunningRun(db);
    if (!running) {
      // Nothing to finish: run the soft declines whose retry is due, if any (docs/billing.md).
      const retried = await engine.retryDue(c.req.raw.signal);
      if (!retried) {
        await engine.deliverEvents();
        return c.json({ run: null });
      }
      const { body, status } = await answer(retried.runId, {});
      return c.json({ run: body }, status);
    }
    c.get("log").info({ runId: running.id }, "resuming a billing run");
    await engine.work(running.id, c.req.raw.signal);
    const { body, status } = await answer(running.id, {});
    return c.json({ run: body }, status);
  });
  resume.all("/", methodNotAllowed(["POST"]));

  const runs = new Hono<AppEnv>();
  runs.get("/", async (c) => {
    const raw = c.req.query("limit") ?? "50";
    const limit = Number(raw);
    if (!/^\d+$/.test(raw) || limit < 1 || limit > 500)
      throw badRequest("invalid_query", "limit must be an integer from 1 to 500");
    return c.json((await listRuns(db, limit)).map(runJson));
  });
  runs.all("/", methodNotAllowed(["GET"]));
  runs.get("/:id", async (c) => {
    const id = parseId(c.req.param("id"), "run id");
    const run = await findRun(db, id);
    if (!run) throw notFound(`billing run ${id}`);
    return c.json(runJson(run));
  });
  runs.all("/:id", methodNotAllowed(["GET"]));
  runs.post("/:id/continue", async (c) => {
    const id = parseId(c.req.param("id"), "run id");
    const run = await findRun(db, id);
    if (!run) throw notFound(`billing run ${id}`);
    if (run.status === "RUNNING") await engine.work(id, c.req.raw.signal);
    const { body, status } = await answer(id, {});
    return c.json(body, status);
  });
  runs.all("/:id/continue", methodNotAllowed(["POST"]));

  const attempts = new Hono<AppEnv>();
  attempts.get("/:id/attempts", async (c) => {
    const id = parseId(c.req.param("id"), "invoice id");
    if (!(await findInvoice(db, id))) throw notFound(`invoice ${id}`);
    return c.json(await attemptsOf(db, id));
  });
  attempts.all("/:id/attempts", methodNotAllowed(["GET"]));
  return { pay, resume, runs, attempts };
}
