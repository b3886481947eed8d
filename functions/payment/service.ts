import {
  createHttpMetrics,
  openApiDocument,
  type Router,
  type ServiceDefinition,
  serveMetricsAlone,
} from "../runtime/index.js";
import { PAYMENT_DOCUMENT, paymentApp } from "./app.js";
import { openApiSecurity } from "./auth/caller-auth.js";
import { loadPaymentConfig, type PaymentConfig } from "./config.js";
import { migrations } from "./data/database.js";

/** Payment as the runtime serves it (main.ts), or as a test builds it in-process. */
export const paymentService: ServiceDefinition<PaymentConfig, Router> = {
  name: "payment",
  loadConfig: (env) => loadPaymentConfig(env),
  migrations,
  build: async ({ config, sql, logger }) => {
    const metrics = createHttpMetrics();
    const app = paymentApp({ config, sql, logger, metrics });
    const closeMetrics =
      config.metricsPort === undefined
        ? undefined
        : await serveMetricsAlone(
            metrics,
            { port: config.metricsPort, host: config.host },
            logger,
            () => openApiDocument(app, PAYMENT_DOCUMENT, openApiSecurity(config.auth)),
          );
    return { app, cleanups: closeMetrics ? [closeMetrics] : [] };
  },
};
