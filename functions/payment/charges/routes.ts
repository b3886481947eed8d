import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { ApiError, badRequest, errorResponse, methodNotAllowed } from "../../runtime/errors.js";
import type { AppEnv } from "../../runtime/http.js";
import { type ChargeFilter, listCharges } from "../data/charges.js";
import type { Db } from "../data/database.js";
import { chargeJson, chargeListJson } from "./charge.js";
import type { ChargeService } from "./charge-service.js";
import type { FaultInjector } from "./faults.js";
import { parseIdempotencyKey } from "./idempotency-key.js";
import type { ChargeMetricOutcome } from "./metrics.js";
import { parseChargeRequest } from "./request.js";

export interface ChargeRouteDeps {
  db: Db;
  charge: ChargeService;
  faults: FaultInjector;
  count: (outcome: ChargeMetricOutcome) => void;
  bodyLimitBytes: number;
}

const JSON_TYPE = /^application\/json\s*(;|$)/i;

/** The body as JSON, or the 415/400 that names what is wrong with it. */
async function jsonBody(request: Request): Promise<unknown> {
  if (!JSON_TYPE.test(request.headers.get("content-type") ?? "")) {
    throw new ApiError(415, "unsupported_media_type", "Content-Type must be application/json");
  }
  const text = await request.text();
  try {
    return JSON.parse(text);
  } catch {
    throw badRequest("invalid_json", "the body is not valid JSON");
  }
}

/** A query parameter given at most once; repeating it is ambiguous, so it is refused. */
function single(values: string[] | undefined, name: string): string | undefined {
  if (values && values.length > 1) throw badRequest("invalid_query", `give ${name} at most once`);
  return values?.[0];
}

function chargeFilter(query: Record<string, string[]>): ChargeFilter {
  const key = single(query.idempotency_key, "idempotency_key");
  const invoiceId = single(query.invoice_id, "invoice_id");
  if ((key === undefined) === (invoiceId === undefined)) {
    throw badRequest("invalid_query", "give exactly one of idempotency_key or invoice_id");
  }
  if (key !== undefined) return { idempotencyKey: parseIdempotencyKey(key, "idempotency_key") };
  const id = Number(invoiceId);
  if (!/^\d{1,10}$/.test(invoiceId ?? "") || id < 1 || id > 2_147_483_647) {
    throw badRequest("invalid_query", "invoice_id must be an integer between 1 and 2147483647");
  }
  return { invoiceId: id };
}

export function chargeRoutes(deps: ChargeRouteDeps): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();

  routes.post(
    "/",
    bodyLimit({
      maxSize: deps.bodyLimitBytes,
      onError: (c) =>
        errorResponse(
          c,
          new ApiError(413, "payload_too_large", `the body exceeds ${deps.bodyLimitBytes} bytes`),
        ),
    }),
    async (c) => {
      if (deps.faults.unavailable()) {
        deps.count("unavailable");
        throw new ApiError(503, "unavailable", "payment provider unavailable; retry later", {
          "Retry-After": "1",
        });
      }
      const header = c.req.header("idempotency-key");
      const key = header === undefined ? null : parseIdempotencyKey(header, "Idempotency-Key");
      const request = parseChargeRequest(await jsonBody(c.req.raw));
      const log = c.get("log").child({ idempotencyKey: key, invoiceId: request.invoiceId });

      await deps.faults.delayBeforeCharge();
      const { charge, replayed } = await deps.charge(request, key);
      deps.count(replayed ? "replayed" : charge.status);
      log.info(
        { chargeId: charge.id, customerId: charge.customerId, status: charge.status, replayed },
        replayed ? "charge replayed" : `charge ${charge.status}`,
      );
      if (!replayed && (await deps.faults.delayReply())) log.warn("answered late on purpose");
      if (replayed) c.header("Idempotent-Replayed", "true");
      return c.json(chargeJson(charge));
    },
  );
  routes.get("/", async (c) => {
    const charges = await listCharges(deps.db, chargeFilter(c.req.queries()));
    return c.json({ charges: charges.map(chargeListJson) });
  });
  routes.all("/", methodNotAllowed(["GET", "POST"]));
  return routes;
}
