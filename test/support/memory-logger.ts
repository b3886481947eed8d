import type { Logger } from "../../functions/runtime/logger.js";
import { createLogger } from "../../functions/runtime/process/logger.js";

/** A logger that keeps its JSON lines in memory, for tests that run runtime pieces in-process. */
export function memoryLogger(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const logger = createLogger("test", "info", undefined, {
    write: (line) => lines.push(JSON.parse(line) as Record<string, unknown>),
  });
  return { logger, lines };
}
