import { pino } from "pino";
import postgres from "postgres";
import { antaeusApp } from "../../functions/antaeus/app.js";
import { createBilling } from "../../functions/antaeus/billing/index.js";
import { loadAntaeusConfig } from "../../functions/antaeus/config.js";
import { migrations } from "../../functions/antaeus/data/database.js";
import { paymentApp } from "../../functions/payment/app.js";
import type { PaymentConfig } from "../../functions/payment/config.js";
import { createHttpMetrics, migrateUnderLock } from "../../functions/runtime/index.js";
import { createDatabase } from "../support/database.js";

/**
 * The real route tables of both functions: the manifests' probe paths, PingSource uri and
 * payment endpoint are checked by sending requests to them.
 *
 * Payment's database client points at a closed port (postgres.js connects lazily, so building
 * costs nothing and a query fails at once). A route that exists therefore answers something
 * other than 404/405: /readyz says 503, the charge route (guarded) 401.
 */
const unreachableDatabase = () =>
  postgres("postgres://check:check@127.0.0.1:9/check", {
    max: 1,
    connect_timeout: 1,
    onnotice: () => {},
  });

const silent = pino({ level: "silent" });

/**
 * The real Antaeus, engine included, on a fresh migrated database with no invoices: a billing
 * run it starts has nothing to charge and completes at once, and says who triggered it.
 */
export async function antaeusForChecks() {
  const url = await createDatabase("manifest");
  await migrateUnderLock(url, migrations, silent);
  const sql = postgres(url, { max: 2, onnotice: () => {} });
  const config = loadAntaeusConfig({ DATABASE_URL: url });
  const metrics = createHttpMetrics();
  const billing = createBilling(sql, config.billing, config.events, silent, metrics.registry);
  const app = antaeusApp({
    sql,
    logger: silent,
    engine: billing.engine,
    metrics,
    auth: config.auth,
    providerRateLimit: config.billing.providerRateLimit,
  });
  return {
    app,
    sql,
    close: async () => {
      await billing.close();
      await sql.end({ timeout: 1 });
    },
  };
}

export function paymentForChecks(config: PaymentConfig) {
  const sql = unreachableDatabase();
  const app = paymentApp({ config, sql, logger: silent });
  return { app, close: () => sql.end({ timeout: 1 }) };
}
