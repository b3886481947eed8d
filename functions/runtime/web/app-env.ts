import type { HttpBindings } from "@hono/node-server";
import type { Logger } from "../logger.js";

/** What every Hono app of the runtime carries on a request: its bindings and variables. */
export type AppEnv = {
  /** The Node request and response; absent when the app is called in-process (app.request). */
  Bindings: Partial<HttpBindings>;
  Variables: {
    requestId: string;
    log: Logger;
    /** What a handler wants on this request's log line (one line per request, not two). */
    logFields?: Record<string, unknown>;
    /** The verified caller and its roles, where the function authenticates. */
    caller?: { subject: string; roles: readonly string[] };
  };
};
