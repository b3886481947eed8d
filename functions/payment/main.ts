import { runService } from "../runtime/index.js";
import { paymentService } from "./service.js";

await runService(paymentService);
