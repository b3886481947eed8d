import { desc, isNull } from "drizzle-orm";
import { Hono } from "hono";
import { badRequest, methodNotAllowed } from "../../runtime/errors.js";
import type { AppEnv } from "../../runtime/http.js";
import type { Db } from "../data/database.js";
import { billingEvents } from "../data/schema.js";

/**
 * GET /rest/v1/billing/events: the outbox, newest first. `?pending=true` lists only what the
 * sink has not acknowledged: outside Knative (no K_SINK) that is every event.
 */
export function eventRoutes(db: Db): Hono<AppEnv> {
  const events = new Hono<AppEnv>();
  events.get("/", async (c) => {
    const raw = c.req.query("limit") ?? "100";
    const limit = Number(raw);
    if (!/^\d+$/.test(raw) || limit < 1 || limit > 1000)
      throw badRequest("invalid_query", "limit must be an integer from 1 to 1000");
    const pending = c.req.query("pending");
    if (pending !== undefined && pending !== "true" && pending !== "false")
      throw badRequest("invalid_query", "pending must be true or false");
    const rows = await db
      .select()
      .from(billingEvents)
      .where(pending === "true" ? isNull(billingEvents.deliveredAt) : undefined)
      .orderBy(desc(billingEvents.time), desc(billingEvents.id))
      .limit(limit);
    return c.json(rows);
  });
  events.all("/", methodNotAllowed(["GET"]));
  return events;
}
