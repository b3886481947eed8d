import { pino } from "pino";
import postgres from "postgres";
import { antaeusApp } from "../../functions/antaeus/app.js";
import type { BillingEngine } from "../../functions/antaeus/billing/engine.js";
import { paymentApp } from "../../functions/payment/app.js";
import type { PaymentConfig } from "../../functions/payment/config.js";

/**
 * The real route tables of both functions, built without a database: the manifests' probe
 * paths, PingSource uri and payment endpoint are checked by sending requests to them.
 *
 * The database client points at a closed port (postgres.js connects lazily, so building costs
 * nothing and a query fails at once). A route that exists therefore answers something other
 * than 404/405: /readyz says 503, a route that queries says 500.
 */
const unreachableDatabase = () =>
  postgres("postgres://check:check@127.0.0.1:9/check", {
    max: 1,
    connect_timeout: 1,
    onnotice: () => {},
  });

const silent = pino({ level: "silent" });

export interface EngineCall {
  method: string;
  args: unknown[];
}

/**
 * Antaeus with a billing engine that records what it is asked and then fails: the pay route
 * has parsed and accepted the request by the time it calls the engine.
 */
export function antaeusForChecks() {
  const calls: EngineCall[] = [];
  const engine = new Proxy(
    {},
    {
      get:
        (_target, method) =>
        (...args: unknown[]) => {
          calls.push({ method: String(method), args });
          throw new Error("no billing engine in a manifest check");
        },
    },
  ) as BillingEngine;
  const sql = unreachableDatabase();
  const app = antaeusApp({ sql, logger: silent, engine });
  return { app, calls, close: () => sql.end({ timeout: 1 }) };
}

export function paymentForChecks(config: PaymentConfig) {
  const sql = unreachableDatabase();
  const app = paymentApp({ config, sql, logger: silent });
  return { app, close: () => sql.end({ timeout: 1 }) };
}
