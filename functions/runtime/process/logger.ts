import { pino } from "pino";
import type { Logger } from "../logger.js";

/**
 * JSON lines on stdout, as Knative collects them. Credentials never reach a line.
 * Writes are asynchronous: lines logged while one write is under way go out together in the next,
 * so a busy function does not pay a blocking syscall per request line. `flushLogs` writes out
 * what is pending before exit; a hard kill may lose the last few lines (the database, not the
 * log, is the audit trail).
 */
export function createLogger(service: string, level: string, revision?: string): Logger {
  const destination = pino.destination({ dest: 1, sync: false });
  const logger = pino(
    {
      level,
      base: { service, ...(revision ? { revision } : {}) },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: {
        paths: ["databaseUrl", "*.databaseUrl", "authorization", "*.authorization", "token"],
        censor: "[redacted]",
      },
    },
    destination,
  );
  destinations.set(logger, destination);
  return logger;
}

/** Each logger createLogger made, with the destination it writes to (child loggers share it). */
const destinations = new WeakMap<Logger, { flushSync(): void }>();

/** Writes out buffered lines; call before process.exit. */
export function flushLogs(logger: Logger): void {
  try {
    destinations.get(logger)?.flushSync();
  } catch {
    // nothing buffered, or stdout already gone: nothing left to save
  }
}
