import { createRoute } from "@hono/zod-openapi";
import { desc, isNull } from "drizzle-orm";
import * as z from "zod";
import { declare, jsonContent, type Router } from "../../runtime/index.js";
import type { Db } from "../data/database.js";
import { billingEvents } from "../data/schema.js";
import { eventListQuery } from "./params.js";
import { EventSchema, invalid } from "./schemas.js";

const events = createRoute({
  method: "get",
  path: "/rest/v1/billing/events",
  tags: ["billing"],
  summary: "The outbox of CloudEvents, newest first",
  description:
    "`pending=true` lists only what the sink has not acknowledged: outside Knative (no K_SINK) that is every event (docs/events.md).",
  request: { query: eventListQuery },
  responses: { 200: jsonContent(z.array(EventSchema), "the events"), 400: invalid },
});

export function eventRoutes(app: Router, db: Db): void {
  declare(app, events, async (c) => {
    const { limit = 100, pending = false } = c.req.valid("query");
    const rows = await db
      .select()
      .from(billingEvents)
      .where(pending ? isNull(billingEvents.deliveredAt) : undefined)
      .orderBy(desc(billingEvents.time), desc(billingEvents.id))
      .limit(limit);
    return c.json(rows, 200);
  });
}
