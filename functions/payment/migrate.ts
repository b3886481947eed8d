import { migrateCommand } from "../runtime/migrate-command.js";
import { loadPaymentConfig } from "./config.js";
import { migrations } from "./data/database.js";

await migrateCommand("payment", () => loadPaymentConfig(), migrations);
