import { serveFromSnapshot } from "../runtime/index.js";
import { paymentService } from "./service.js";

// What the image's startup snapshot is built from (scripts/snapshot.mjs); main.ts otherwise.
serveFromSnapshot(paymentService);
