import { Hono } from "hono";
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
  WAITING_FOR_A_PERSON,
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

  routes.post("/invoices/:id/requeue", async (c) => {
    const id = parseId(c.req.param("id"), "invoice id");
    const reason = await reasonOf(c.req.raw);
    const result = await requeueInvoice(sql, id, actor(c), reason);
    switch (result.kind) {
      case "not_found":
        throw notFound(`invoice ${id}`);
      case "not_waiting":
        throw new ApiError(
          409,
          "invoice_not_waiting",
          `invoice ${id} is ${result.status}; only ${WAITING_FOR_A_PERSON.join(", ")} can be requeued`,
        );
      default:
        c.get("log").info({ invoiceId: id, kind: result.kind }, "invoice requeue");
        return c.json({ requeued: result.kind === "requeued", action: result.action });
    }
  });
  routes.all("/invoices/:id/requeue", methodNotAllowed(["POST"]));

  routes.post("/billing/runs/:id/cancel", async (c) => {
    const id = parseId(c.req.param("id"), "run id");
    const reason = await reasonOf(c.req.raw);
    const result = await cancelRun(sql, id, actor(c), reason);
    switch (result.kind) {
      case "not_found":
        throw notFound(`billing run ${id}`);
      case "finished":
        throw new ApiError(409, "run_finished", `billing run ${id} has already completed`);
      default:
        c.get("log").info({ runId: id, kind: result.kind }, "billing run cancel");
        return c.json({ cancelled: result.kind === "cancelled", action: result.action });
    }
  });
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
