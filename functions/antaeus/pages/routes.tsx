import { createRoute } from "@hono/zod-openapi";
import { declare, type Router, type Sql, textContent } from "../../runtime/index.js";
import { callerOf } from "../auth/guard.js";
import type { Db } from "../data/database.js";
import { waitingInvoicesOfRun } from "../data/overview.js";
import { findRun, listRuns } from "../data/runs.js";
import { notFound } from "../errors.js";
import { runDetailJson, runJson } from "../rest/billing.js";
import { idParams } from "../rest/params.js";
import { invalid, notFoundContent } from "../rest/schemas.js";
import { LIVE_SCRIPT_HASH } from "./live.js";
import { RunPage } from "./run.js";
import { RunsPage } from "./runs.js";

const WAITING_SHOWN = 100;

/**
 * The pages allow their own inline style and the one live script, talk only to this origin, and
 * are never framed or cached: what they show is always read anew.
 */
export const PAGE_HEADERS = {
  "Content-Security-Policy": `default-src 'none'; style-src 'unsafe-inline'; script-src ${LIVE_SCRIPT_HASH}; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'`,
  "Cache-Control": "no-store",
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
};

/** A declared page. */
export const html = (description: string) => textContent("text/html", description);

const runsPage = createRoute({
  method: "get",
  path: "/runs",
  tags: ["pages"],
  summary: "The run page for people: every run, newest first (HTML)",
  responses: { 200: html("the latest 50 runs") },
});

const runPage = createRoute({
  method: "get",
  path: "/runs/{id}",
  tags: ["pages"],
  summary: "One run for people: progress, counts, invoices left for a person (HTML)",
  description:
    "While the run goes on, its script polls GET /rest/v1/billing/runs/{id}; errors are the API's JSON.",
  request: { params: idParams("run id") },
  responses: { 200: html("the run"), 400: invalid, 404: notFoundContent },
});

/**
 * The run pages: /runs (every run) and /runs/:id (one run, live while it runs). An outer layer
 * like rest/: they read through the same functions and the same run JSON as the billing routes.
 */
export function runPages(
  app: Router,
  db: Db,
  sql: Sql,
  providerRateLimit: number | undefined,
): void {
  declare(app, runsPage, async (c) => {
    const runs = (await listRuns(db, 50)).map(runJson);
    return c.html(<RunsPage runs={runs} signedInAs={callerOf(c)?.subject} />, 200, PAGE_HEADERS);
  });
  declare(app, runPage, async (c) => {
    const { id } = c.req.valid("param");
    const run = await findRun(db, id);
    if (!run) throw notFound(`billing run ${id}`);
    const waiting = await waitingInvoicesOfRun(sql, id, WAITING_SHOWN);
    const until = run.finishedAt ?? new Date();
    const elapsedSeconds = (until.getTime() - run.startedAt.getTime()) / 1000;
    return c.html(
      <RunPage
        run={await runDetailJson(sql, run, providerRateLimit)}
        signedInAs={callerOf(c)?.subject}
        elapsedSeconds={elapsedSeconds}
        waiting={waiting}
        waitingLimit={WAITING_SHOWN}
      />,
      200,
      PAGE_HEADERS,
    );
  });
}
