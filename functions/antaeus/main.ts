import { runService } from "../runtime/index.js";
import { antaeusService } from "./service.js";

await runService(antaeusService);
