import { writeSync } from "node:fs";
import type { Logger } from "../logger.js";

/** Levels as lines name them, and their order: a logger writes its own level and those above. */
const LEVELS = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 } as const;
type LogLevel = keyof typeof LEVELS;

/** Keys whose values never reach a line, at any depth: credentials. */
const REDACTED = new Set(["databaseUrl", "authorization", "token"]);

/**
 * JSON lines on stdout, as Knative collects them: `{"level","time",<bindings>,<fields>,"msg"}`,
 * one object per line. Credentials never reach a line (REDACTED). Each line is serialised by
 * hand (bindings once per logger, fields one by one) and lines are written together: once per
 * turn of the event loop, or sooner when 64 KiB are waiting, so a busy function makes one write
 * for many request lines. What is still waiting is written before the process exits, whatever
 * ends it (process.exit after SIGTERM, an uncaught exception, an empty event loop); only a kill
 * that gives no chance to run (SIGKILL) loses the lines of the last turn.
 */
export function createLogger(
  service: string,
  level: string,
  revision?: string,
  sink: LineSink = stdout(),
): Logger {
  // "silent" (or anything else that is not a level) writes nothing.
  const threshold = LEVELS[level as LogLevel] ?? Number.POSITIVE_INFINITY;
  return new JsonLogger(sink, threshold, fieldsJson({ service, revision }));
}

/** Where lines go: stdout by default; tests hand in their own. */
export interface LineSink {
  write(line: string): void;
}

class JsonLogger implements Logger {
  constructor(
    private readonly sink: LineSink,
    private readonly threshold: number,
    /** The bindings, already serialised: `,"service":"payment","requestId":"…"`. */
    private readonly bound: string,
  ) {}

  child(bindings: Record<string, unknown>): Logger {
    return new JsonLogger(this.sink, this.threshold, this.bound + fieldsJson(bindings));
  }

  fatal(fields: object | string, message?: string) {
    this.line(60, fields, message);
  }
  error(fields: object | string, message?: string) {
    this.line(50, fields, message);
  }
  warn(fields: object | string, message?: string) {
    this.line(40, fields, message);
  }
  info(fields: object | string, message?: string) {
    this.line(30, fields, message);
  }
  debug(fields: object | string, message?: string) {
    this.line(20, fields, message);
  }
  trace(fields: object | string, message?: string) {
    this.line(10, fields, message);
  }

  private line(level: number, fields: object | string, message?: string) {
    if (level < this.threshold) return;
    let own = "";
    let msg = message;
    if (typeof fields === "string") msg = fields;
    else own = fieldsJson(fields);
    this.sink.write(
      `{"level":"${LABELS[level]}","time":"${new Date().toISOString()}"${this.bound}${own}` +
        `${msg === undefined ? "" : `,"msg":${JSON.stringify(msg)}`}}\n`,
    );
  }
}

const LABELS: Record<number, LogLevel> = Object.fromEntries(
  Object.entries(LEVELS).map(([label, value]) => [value, label as LogLevel]),
);

/** `,"key":value` for each field that has a value; objects and errors through `json`. */
function fieldsJson(fields: object): string {
  let out = "";
  for (const key of Object.keys(fields)) {
    const value = (fields as Record<string, unknown>)[key];
    if (value === undefined || typeof value === "function" || typeof value === "symbol") continue;
    out += `,${JSON.stringify(key)}:${REDACTED.has(key) ? '"[redacted]"' : valueJson(value)}`;
  }
  return out;
}

function valueJson(value: unknown): string {
  switch (typeof value) {
    case "string":
      return JSON.stringify(value);
    case "number":
      return Number.isFinite(value) ? String(value) : "null";
    case "boolean":
      return value ? "true" : "false";
    case "bigint":
      return String(value);
    default:
      return json(value);
  }
}

/** Any other value: errors as `{type, message, stack, …, cause}`, credentials redacted. */
function json(value: unknown): string {
  const seen = new WeakSet<object>();
  try {
    return JSON.stringify(value, (key, inner: unknown) => {
      if (REDACTED.has(key)) return "[redacted]";
      if (typeof inner === "bigint") return inner.toString();
      if (typeof inner !== "object" || inner === null) return inner;
      if (seen.has(inner)) return "[circular]";
      seen.add(inner);
      return inner instanceof Error ? errorFields(inner) : inner;
    });
  } catch (error) {
    return JSON.stringify(`[not serialisable: ${String(error)}]`);
  }
}

/** What a log reader needs of an error: its class, message, stack, own fields, and its cause. */
function errorFields(error: Error): Record<string, unknown> {
  const fields: Record<string, unknown> = {
    type: error.constructor?.name ?? error.name,
    message: error.message,
    stack: error.stack,
  };
  for (const [key, value] of Object.entries(error)) fields[key] ??= value;
  if (error.cause !== undefined) fields.cause = error.cause;
  return fields;
}

/**
 * Lines waiting for the next write to one file descriptor. A write is synchronous (no thread, no
 * write still under way when the process exits) and rare: one per turn of the event loop.
 */
class BufferedLines implements LineSink {
  private waiting = "";
  private scheduled = false;

  constructor(private readonly fd: number) {
    process.on("exit", () => this.flush());
  }

  write(line: string): void {
    this.waiting += line;
    if (this.waiting.length >= 65_536) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush()).unref();
    }
  }

  /** Writes every waiting line now. */
  flush(): void {
    this.scheduled = false;
    if (this.waiting === "") return;
    const bytes = Buffer.from(this.waiting);
    this.waiting = "";
    writeAll(this.fd, bytes);
  }
}

let stdoutLines: BufferedLines | undefined;
/** The one sink for stdout, shared by every logger of the process. */
const stdout = () => {
  stdoutLines ??= new BufferedLines(1);
  return stdoutLines;
};

let pause: Int32Array | undefined;

/**
 * Writes all of `bytes`. A pipe set non-blocking may take part of them, or none (EAGAIN) while
 * its reader catches up: wait a millisecond and go on, for at most a second. A reader that is
 * gone (EPIPE) or a descriptor that is closed leaves nothing to write to: the lines are dropped.
 */
function writeAll(fd: number, bytes: Buffer): void {
  let written = 0;
  for (let waits = 0; written < bytes.length && waits < 1_000; ) {
    try {
      written += writeSync(fd, bytes, written);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EAGAIN") return;
      pause ??= new Int32Array(new SharedArrayBuffer(4));
      Atomics.wait(pause, 0, 0, 1);
      waits++;
    }
  }
}
