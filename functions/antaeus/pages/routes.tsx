import { Hono } from "hono";
import type { Sql } from "../../runtime/database.js";
import { methodNotAllowed, notFound } from "../../runtime/errors.js";
import type { AppEnv } from "../../runtime/http.js";
import type { Db } from "../data/database.js";
import { waitingInvoicesOfRun } from "../data/overview.js";
import { findRun, listRuns } from "../data/runs.js";
import { parseId } from "../domain/ids.js";
import { runJson } from "../rest/billing.js";
import { LIVE_SCRIPT_HASH } from "./live.js";
import { RunPage } from "./run.js";
import { RunsPage } from "./runs.js";

const WAITING_SHOWN = 100;

/**
 * The pages allow their own inline style and the one live script, talk only to this origin, and
 * are never framed or cached: what they show is always read anew.
 */
const PAGE_HEADERS = {
  "Content-Security-Policy": `default-src 'none'; style-src 'unsafe-inline'; script-src ${LIVE_SCRIPT_HASH}; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'`,
  "Cache-Control": "no-store",
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
};

/** The run pages: /runs (every run) and /runs/:id (one run, live while it runs). */
export function runPages(db: Db, sql: Sql): Hono<AppEnv> {
  const pages = new Hono<AppEnv>();
  pages.get("/", async (c) => {
    const runs = (await listRuns(db, 50)).map(runJson);
    return c.html(<RunsPage runs={runs} />, 200, PAGE_HEADERS);
  });
  pages.all("/", methodNotAllowed(["GET"]));
  pages.get("/:id", async (c) => {
    const id = parseId(c.req.param("id"), "run id");
    const run = await findRun(db, id);
    if (!run) throw notFound(`billing run ${id}`);
    const waiting = await waitingInvoicesOfRun(sql, id, WAITING_SHOWN);
    const until = run.finishedAt ?? new Date();
    const elapsedSeconds = (until.getTime() - run.startedAt.getTime()) / 1000;
    return c.html(
      <RunPage
        run={runJson(run)}
        elapsedSeconds={elapsedSeconds}
        waiting={waiting}
        waitingLimit={WAITING_SHOWN}
      />,
      200,
      PAGE_HEADERS,
    );
  });
  pages.all("/:id", methodNotAllowed(["GET"]));
  return pages;
}
