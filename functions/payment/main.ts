import {
  createHttpMetrics,
  openApiDocument,
  runService,
  serveMetricsAlone,
} from "../runtime/index.js";
import { PAYMENT_DOCUMENT, paymentApp } from "./app.js";
import { loadPaymentConfig } from "./config.js";
import { migrations } from "./data/database.js";

await runService({
  name: "payment",
  loadConfig: () => loadPaymentConfig(),
  migrations,
  build: async ({ config, sql, logger }) => {
    const metrics = createHttpMetrics();
    const app = paymentApp({ config, sql, logger, metrics });
    const closeMetrics =
      config.metricsPort === undefined
        ? undefined
        : await serveMetricsAlone(metrics, config.metricsPort, logger, () =>
            openApiDocument(app, PAYMENT_DOCUMENT),
          );
    return { app, cleanups: closeMetrics ? [closeMetrics] : [] };
  },
});
