/** One of a logger's methods: fields for the line (and its message), or the message alone. */
interface LogFn {
  (fields: object, message?: string): void;
  (message: string): void;
}

/**
 * What the runtime and the functions log with: JSON lines, as `process/logger.ts` makes them for
 * a process (a test hands in a sink of its own); `child` adds fields to every line it writes.
 * A type only, so anything may import it.
 */
export interface Logger {
  fatal: LogFn;
  error: LogFn;
  warn: LogFn;
  info: LogFn;
  debug: LogFn;
  trace: LogFn;
  child(bindings: Record<string, unknown>): Logger;
}
