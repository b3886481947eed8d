import { runService } from "../runtime/index.js";
import { paymentApp } from "./app.js";
import { loadPaymentConfig } from "./config.js";
import { migrations } from "./data/database.js";

await runService({
  name: "payment",
  loadConfig: () => loadPaymentConfig(),
  migrations,
  build: async ({ config, sql, logger }) => ({ app: paymentApp({ config, sql, logger }) }),
});
