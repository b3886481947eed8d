import { migrateCommand } from "../runtime/index.js";
import { loadPaymentConfig } from "./config.js";
import { migrations } from "./data/database.js";

await migrateCommand("payment", () => loadPaymentConfig(), migrations);
