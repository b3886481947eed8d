import type { pino } from "pino";

/**
 * What the runtime and the functions log with: pino's logger, as `process/logger.ts` makes it for
 * a process (a test hands in its own). A type only, so anything may import it.
 */
export type Logger = pino.Logger;
