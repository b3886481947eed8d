import { createRoute } from "@hono/zod-openapi";
import type { Context } from "hono";
import { type AppEnv, declare, jsonContent, type Router, readJson } from "../../runtime/index.js";
import { listCharges } from "../data/charges.js";
import type { Db } from "../data/database.js";
import { apiError, errorContent } from "../errors.js";
import type { ChargeService } from "./charge-service.js";
import type { FaultInjector } from "./faults.js";
import { parseIdempotencyKey } from "./idempotency-key.js";
import { chargeJson, chargeListJson } from "./json.js";
import type { ChargeMetricOutcome } from "./metrics.js";
import type { RateLimiter } from "./rate-limit.js";
import { parseChargeRequest } from "./request.js";
import { ChargeSchema, chargeBodyDocument, LedgerQuery, LedgerSchema } from "./schemas.js";

export interface ChargeRouteDeps {
  db: Db;
  charge: ChargeService;
  faults: FaultInjector;
  count: (outcome: ChargeMetricOutcome) => void;
  rateLimit: RateLimiter;
}

const chargeResponses = {
  200: jsonContent(
    ChargeSchema,
    "charged or declined; a repeat of a key answers the first outcome",
  ),
  400: errorContent("the body, a field or the Idempotency-Key is not valid"),
  401: errorContent("no valid bearer token"),
  403: errorContent("a token whose subject may not charge"),
  413: errorContent("the body is too large"),
  415: errorContent("the body is not declared application/json"),
  422: errorContent("the Idempotency-Key was used for a different request"),
  429: errorContent(
    "more charges a second than PAYMENT_RATE_LIMIT: not made, nothing written; retry after Retry-After",
  ),
  503: errorContent("unavailable (simulated outage, or tokens cannot be verified); retry"),
};

const chargeRoute = <P extends string>(path: P, summary: string) =>
  createRoute({
    method: "post",
    path,
    tags: ["charges"],
    summary,
    // Documented, not validated by the declaration: the handler parses the key itself.
    parameters: [
      {
        name: "Idempotency-Key",
        in: "header",
        required: false,
        description: "charges at most once per key; a repeat answers the first outcome",
        schema: { type: "string", minLength: 1, maxLength: 255, pattern: "^[\\x20-\\x7e]+$" },
      },
    ],
    request: {
      body: {
        required: true,
        // The schema documents the body; request.ts parses it (see chargeBodyDocument).
        content: { "application/json": { schema: chargeBodyDocument as never } },
      },
    },
    responses: chargeResponses,
  });

const charge = chargeRoute("/v1/charges", "Charges an invoice, at most once per Idempotency-Key");
const originalCharge = chargeRoute("/", "The same charge at the original challenge's endpoint URL");

const ledger = createRoute({
  method: "get",
  path: "/v1/charges",
  tags: ["charges"],
  summary: "The ledger's charges for one idempotency key or one invoice",
  request: { query: LedgerQuery },
  responses: {
    200: jsonContent(LedgerSchema, "the charges, oldest first"),
    400: errorContent("not exactly one valid filter"),
    401: errorContent("no valid bearer token"),
  },
});

/**
 * The charge route, served at `/v1/charges` and at `/`: the original challenge's client posts to
 * its endpoint URL exactly as configured, and its documented value is a bare URL.
 */
export function chargeRoutes(app: Router, deps: ChargeRouteDeps): void {
  const handler = chargeHandler(deps);
  declare(app, charge, handler);
  declare(app, ledger, async (c) => {
    const charges = await listCharges(deps.db, c.req.valid("query"));
    return c.json({ charges: charges.map(chargeListJson) }, 200);
  });
  declare(app, originalCharge, handler);
}

function chargeHandler(deps: ChargeRouteDeps) {
  return async (c: Context<AppEnv>) => {
    // Over the rate limit, as a real provider answers: nothing is read, validated or charged.
    const waitMs = deps.rateLimit.refuse();
    if (waitMs !== undefined) {
      deps.count("rate_limited");
      throw apiError("rate_limited", "too many charges a second; retry later", {
        "Retry-After": String(Math.max(1, Math.ceil(waitMs / 1000))),
      });
    }
    // The simulated outage comes next: nothing is read, validated or charged.
    if (deps.faults.unavailable()) {
      deps.count("unavailable");
      throw apiError("unavailable", "payment provider unavailable; retry later", {
        "Retry-After": "1",
      });
    }
    const header = c.req.header("idempotency-key");
    const key = header === undefined ? null : parseIdempotencyKey(header, "Idempotency-Key");
    const request = parseChargeRequest(await readJson(c.req.raw));
    await deps.faults.delayBeforeCharge();
    const { charge, replayed } = await deps.charge(request, key);
    deps.count(replayed ? "replayed" : charge.status);
    const fields = {
      idempotencyKey: key,
      invoiceId: request.invoiceId,
      customerId: charge.customerId,
      chargeId: charge.id,
      charge: charge.status,
      replayed,
    };
    // On the request's own log line: one line per charge.
    c.set("logFields", fields);
    // Replays are never late: a caller retrying after a lost answer gets it at once.
    if (!replayed && (await deps.faults.delayReply())) {
      c.get("log").warn(fields, "answered late on purpose");
    }
    if (replayed) c.header("Idempotent-Replayed", "true");
    return c.json(chargeJson(charge));
  };
}
