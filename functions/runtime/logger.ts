import { pino } from "pino";

export type Logger = pino.Logger;

/** JSON lines on stdout, as Knative collects them. Credentials never reach a line. */
export function createLogger(service: string, level: string, revision?: string): Logger {
  return pino({
    level,
    base: { service, ...(revision ? { revision } : {}) },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    redact: {
      paths: ["databaseUrl", "*.databaseUrl", "authorization", "*.authorization", "token"],
      censor: "[redacted]",
    },
  });
}
