import { type Context, Hono } from "hono";
import type { AppEnv } from "../../runtime/index.js";
import { ApiError, jsonBodyLimit, methodNotAllowed, readJson } from "../../runtime/index.js";
import { listCharges } from "../data/charges.js";
import type { Db } from "../data/database.js";
import type { ChargeService } from "./charge-service.js";
import type { FaultInjector } from "./faults.js";
import { parseIdempotencyKey } from "./idempotency-key.js";
import { chargeJson, chargeListJson } from "./json.js";
import { ledgerQuery } from "./ledger-query.js";
import type { ChargeMetricOutcome } from "./metrics.js";
import { parseChargeRequest } from "./request.js";

export interface ChargeRouteDeps {
  db: Db;
  charge: ChargeService;
  faults: FaultInjector;
  count: (outcome: ChargeMetricOutcome) => void;
  bodyLimitBytes: number;
}

/**
 * The charge route, served at `/v1/charges` and at `/`: the original challenge's client posts to
 * its endpoint URL exactly as configured, and its documented value is a bare URL.
 */
export function chargeRoutes(deps: ChargeRouteDeps): { ledger: Hono<AppEnv>; root: Hono<AppEnv> } {
  const charge = chargeHandler(deps);
  const ledger = new Hono<AppEnv>();
  ledger.post("/", ...charge);
  ledger.get("/", async (c) => {
    const charges = await listCharges(deps.db, ledgerQuery(c.req.queries()));
    return c.json({ charges: charges.map(chargeListJson) });
  });
  ledger.all("/", methodNotAllowed(["GET", "POST"]));

  const root = new Hono<AppEnv>();
  root.post("/", ...charge);
  root.all("/", methodNotAllowed(["POST"]));
  return { ledger, root };
}

function chargeHandler(deps: ChargeRouteDeps) {
  return [
    jsonBodyLimit(deps.bodyLimitBytes),
    async (c: Context<AppEnv>) => {
      // The simulated outage comes first: nothing is read, validated or charged.
      if (deps.faults.unavailable()) {
        deps.count("unavailable");
        throw new ApiError("unavailable", "payment provider unavailable; retry later", {
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
    },
  ] as const;
}
