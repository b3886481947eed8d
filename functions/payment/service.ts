import type { Router, ServiceDefinition } from "../runtime/index.js";
import { paymentApp } from "./app.js";
import { loadPaymentConfig, type PaymentConfig } from "./config.js";
import { migrations } from "./data/database.js";

/** Payment as the runtime serves it (main.ts), or as a test builds it in-process. */
export const paymentService: ServiceDefinition<PaymentConfig, Router> = {
  name: "payment",
  loadConfig: (env) => loadPaymentConfig(env),
  migrations,
  build: async ({ config, sql, logger }) => ({ app: paymentApp({ config, sql, logger }) }),
};
