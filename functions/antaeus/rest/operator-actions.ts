import { type Context, Hono } from "hono";
import { z } from "zod";
import type { Sql } from "../../runtime/database.js";
import { ApiError, badRequest, methodNotAllowed, notFound } from "../../runtime/errors.js";
import type { AppEnv } from "../../runtime/http.js";
import { readJson } from "../../runtime/json-body.js";
import { callerOf } from "../auth/guard.js";
import {
  actionsOnInvoice,
  actionsOnRun,
  cancelRun,
  requeueInvoice,
} from "../data/operator-actions.js";
import { parseId } from "../domain/ids.js";

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

/**
 * What operators used to do in SQL: requeue an invoice that waits for a person, cancel a run.
 * Each is recorded with who (the verified caller) and why, and is idempotent: repeating it
 * changes nothing and answers with the action already taken.
 */
export function operatorActionRoutes(sql: Sql): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();
  const actor = (c: Parameters<typeof callerOf>[0]) => callerOf(c)?.subject ?? "anonymous";

  /** One operator action: id and reason in, done (or done before) out, 404 or 409 otherwise. */
  const action =
    (target: "invoice" | "billing run", idName: string, perform: typeof requeueInvoice) =>
    async (c: Context<AppEnv>) => {
      const id = parseId(c.req.param("id") ?? "", idName);
      const reason = await reasonOf(c.req.raw);
      const result = await perform(sql, id, actor(c), reason);
      if (result.kind === "not_found") throw notFound(`${target} ${id}`);
      if (result.kind === "conflict") throw new ApiError(409, result.code, result.message);
      const { action } = result;
      c.get("log").info(
        { action: action.action, id, performed: result.kind === "done" },
        "operator action",
      );
      return c.json({ performed: result.kind === "done", action });
    };

  routes.post("/invoices/:id/requeue", action("invoice", "invoice id", requeueInvoice));
  routes.all("/invoices/:id/requeue", methodNotAllowed(["POST"]));
  routes.post("/billing/runs/:id/cancel", action("billing run", "run id", cancelRun));
  routes.all("/billing/runs/:id/cancel", methodNotAllowed(["POST"]));

  routes.get("/invoices/:id/actions", async (c) => {
    const id = parseId(c.req.param("id"), "invoice id");
    const [exists] = await sql`select 1 from invoices where id = ${id}`;
    if (!exists) throw notFound(`invoice ${id}`);
    return c.json(await actionsOnInvoice(sql, id));
  });
  routes.all("/invoices/:id/actions", methodNotAllowed(["GET"]));

  routes.get("/billing/runs/:id/actions", async (c) => {
    const id = parseId(c.req.param("id"), "run id");
    const [exists] = await sql`select 1 from billing_runs where id = ${id}`;
    if (!exists) throw notFound(`billing run ${id}`);
    return c.json(await actionsOnRun(sql, id));
  });
  routes.all("/billing/runs/:id/actions", methodNotAllowed(["GET"]));
  return routes;
}
