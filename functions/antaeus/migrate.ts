import { migrateCommand } from "../runtime/index.js";
import { loadAntaeusConfig } from "./config.js";
import { migrations } from "./data/database.js";

await migrateCommand("antaeus", () => loadAntaeusConfig(), migrations);
