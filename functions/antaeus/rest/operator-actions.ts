import { createRoute } from "@hono/zod-openapi";
import type { Context } from "hono";
import * as z from "zod";
import {
  type AppEnv,
  declare,
  jsonContent,
  type Router,
  readJson,
  type Sql,
} from "../../runtime/index.js";
import { callerOf } from "../auth/guard.js";
import {
  actionsOnInvoice,
  actionsOnRun,
  cancelRun,
  requeueInvoice,
} from "../data/operator-actions.js";
import { apiError, badRequest, errorContent, notFound } from "../errors.js";
import { idParams } from "./params.js";
import {
  ActionAnswerSchema,
  actionBodyDocument,
  invalid,
  notFoundContent,
  OperatorActionSchema,
  refusals,
} from "./schemas.js";

const actionBody = z.object({ reason: z.string().trim().min(1).max(1000) }).strict();

async function reasonOf(request: Request): Promise<string> {
  const parsed = actionBody.safeParse(await readJson(request));
  if (!parsed.success) {
    throw badRequest(
      "invalid_body",
      'expected {"reason": "…"}: why, in 1 to 1000 characters, for the audit trail',
    );
  }
  return parsed.data.reason;
}

const actionRoute = (path: string, name: string, summary: string, conflict: string) =>
  createRoute({
    method: "post",
    path,
    tags: ["operations"],
    summary,
    request: {
      params: idParams(name),
      body: {
        required: true,
        // The schema documents the body; reasonOf parses it (its 415 and invalid_json answers too).
        content: { "application/json": { schema: actionBodyDocument as never } },
      },
    },
    responses: {
      200: jsonContent(ActionAnswerSchema, "done now (performed), or done before (not performed)"),
      400: invalid,
      404: notFoundContent,
      409: errorContent(conflict),
      413: errorContent("the body is too large"),
      415: errorContent("the body is not declared application/json"),
      ...refusals,
    },
  });

const requeue = actionRoute(
  "/rest/v1/invoices/{id}/requeue",
  "invoice id",
  "Puts an invoice that waits for a person back to PENDING, for the next run",
  "invoice_not_waiting: the invoice does not wait for a person",
);

const cancel = actionRoute(
  "/rest/v1/billing/runs/{id}/cancel",
  "run id",
  "Stops a run from charging anything more; charges in flight finish",
  "run_finished: the run completed before it was cancelled",
);

const history = (path: string, name: string, summary: string) =>
  createRoute({
    method: "get",
    path,
    tags: ["operations"],
    summary,
    request: { params: idParams(name) },
    responses: {
      200: jsonContent(z.array(OperatorActionSchema), "the actions, oldest first"),
      400: invalid,
      404: notFoundContent,
      ...refusals,
    },
  });

const invoiceActions = history(
  "/rest/v1/invoices/{id}/actions",
  "invoice id",
  "What operators did to an invoice, who and why",
);
const runActions = history(
  "/rest/v1/billing/runs/{id}/actions",
  "run id",
  "What operators did to a run, who and why",
);

/**
 * What operators used to do in SQL: requeue an invoice that waits for a person, cancel a run.
 * Each is recorded with who (the verified caller) and why, and is idempotent: repeating it
 * changes nothing and answers with the action already taken.
 */
export function operatorActionRoutes(app: Router, sql: Sql): void {
  /** One operator action: id and reason in, done (or done before) out, 404 or 409 otherwise. */
  const act = async (
    c: Context<AppEnv>,
    id: number,
    target: "invoice" | "billing run",
    perform: typeof requeueInvoice,
  ) => {
    const reason = await reasonOf(c.req.raw);
    const result = await perform(sql, id, callerOf(c)?.subject ?? "anonymous", reason);
    if (result.kind === "not_found") throw notFound(`${target} ${id}`);
    if (result.kind === "conflict") throw apiError(result.code, result.message);
    const { action } = result;
    c.get("log").info(
      { action: action.action, id, performed: result.kind === "done" },
      "operator action",
    );
    return c.json({ performed: result.kind === "done", action }, 200);
  };

  declare(app, requeue, (c) => act(c, c.req.valid("param").id, "invoice", requeueInvoice));
  declare(app, cancel, (c) => act(c, c.req.valid("param").id, "billing run", cancelRun));
  declare(app, invoiceActions, async (c) => {
    const { id } = c.req.valid("param");
    const [exists] = await sql`select 1 from invoices where id = ${id}`;
    if (!exists) throw notFound(`invoice ${id}`);
    return c.json(await actionsOnInvoice(sql, id), 200);
  });
  declare(app, runActions, async (c) => {
    const { id } = c.req.valid("param");
    const [exists] = await sql`select 1 from billing_runs where id = ${id}`;
    if (!exists) throw notFound(`billing run ${id}`);
    return c.json(await actionsOnRun(sql, id), 200);
  });
}
