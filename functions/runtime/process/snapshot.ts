import { startupSnapshot } from "node:v8";
import type { ServiceConfig } from "./config.js";
import type { FetchApp } from "./server.js";
import { runService, type ServiceDefinition } from "./service.js";

/**
 * The entry of a V8 startup snapshot (`node --build-snapshot`, Node 22+): loading the function's
 * modules (routes, schemas, the libraries) is what the snapshot holds, so a process started from
 * it (`node --snapshot-blob`) begins here, with config read from its own environment, and does
 * everything that opens files or sockets: the database, the listener, the signal handlers.
 */
export function serveFromSnapshot<C extends ServiceConfig, A extends FetchApp>(
  definition: ServiceDefinition<C, A>,
): void {
  startupSnapshot.setDeserializeMainFunction(() => {
    void runService(definition);
  });
}
