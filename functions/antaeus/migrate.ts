import { migrateCommand } from "../runtime/migrate-command.js";
import { loadAntaeusConfig } from "./config.js";
import { migrations } from "./data/database.js";

await migrateCommand("antaeus", () => loadAntaeusConfig(), migrations);
