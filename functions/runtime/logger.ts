import { pino } from "pino";

export type Logger = pino.Logger;

/**
 * JSON lines on stdout, as Knative collects them. Credentials never reach a line.
 * Writes are asynchronous: lines logged while one write is under way go out together in the next,
 * so a busy function does not pay a blocking syscall per request line. `flushLogs` writes out
 * what is pending before exit; a hard kill may lose the last few lines (the database, not the
 * log, is the audit trail).
 */
export function createLogger(service: string, level: string, revision?: string): Logger {
  return pino(
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
    pino.destination({ dest: 1, sync: false }),
  );
}

/** Writes out buffered lines; call before process.exit. */
export function flushLogs(logger: Logger): void {
  try {
    const stream = (logger as unknown as Record<symbol, { flushSync?: () => void }>)[
      pino.symbols.streamSym
    ];
    stream?.flushSync?.();
  } catch {
    // nothing buffered, or stdout already gone: nothing left to save
  }
}
