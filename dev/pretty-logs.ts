// What `npm start` prints on a terminal: each JSON line the functions write (the runtime's
// logger, functions/runtime/process/logger.ts) as one readable, coloured line. Development only:
// the functions always write JSON, and nothing here is in their bundles (scripts/build.test.ts).

import { createInterface } from "node:readline";
import type { Readable, Writable } from "node:stream";

/**
 * Fields the layout shows in a place of its own, or not at all: ids that help a machine join
 * lines (the request's, the charge's, the idempotency key) and say nothing to a person reading.
 */
const LAID_OUT = new Set([
  "level",
  "time",
  "service",
  "revision",
  "msg",
  "err",
  "requestId",
  "idempotencyKey",
  "chargeId",
]);
/** A request line: method, path, status and time lead; the route repeats the path. */
const REQUEST_LAID_OUT = new Set(["method", "route", "path", "status", "durationMs"]);

const LEVEL_COLOUR: Record<string, number> = {
  trace: 90,
  debug: 34,
  info: 32,
  warn: 33,
  error: 31,
  fatal: 91,
};
const SERVICE_COLOUR = [36, 35, 94, 96];

export interface PrettyOptions {
  colour: boolean;
}

/**
 * `12:00:01.234 payment INFO  POST /v1/charges 200 1.4 ms charge=declined invoiceId=7`. A line
 * that is not one of the logger's JSON objects (a stack trace on stderr, a config error) is
 * returned as it is.
 */
export function prettyLine(text: string, options: PrettyOptions): string {
  let line: Record<string, unknown>;
  try {
    line = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return text;
  }
  if (typeof line !== "object" || line === null || typeof line.level !== "string") return text;
  const paint = (code: number, value: string) =>
    options.colour ? `\x1b[${code}m${value}\x1b[0m` : value;
  const level = line.level;
  const service = String(line.service ?? "");
  const head = [
    paint(2, clock(line.time)),
    paint(serviceColour(service), service.padEnd(7)),
    paint(LEVEL_COLOUR[level] ?? 0, level.toUpperCase().padEnd(5)),
  ];
  const isRequest = line.msg === "request" && typeof line.method === "string";
  const body = isRequest
    ? [
        `${line.method} ${line.path}`,
        paint(statusColour(Number(line.status)), String(line.status)),
        paint(2, `${line.durationMs} ms`),
      ]
    : [String(line.msg ?? "")];
  const skip = isRequest ? REQUEST_LAID_OUT : new Set<string>();
  const fields = Object.entries(line)
    // A flag that is off (replayed=false) says nothing either.
    .filter(
      ([key, value]) => !LAID_OUT.has(key) && !skip.has(key) && value !== null && value !== false,
    )
    .map(([key, value]) => paint(2, `${key}=${fieldText(value)}`));
  const err = line.err as { type?: string; message?: string; stack?: string } | undefined;
  const error = err
    ? `\n${paint(LEVEL_COLOUR.error ?? 0, indent(err.stack ?? `${err.type}: ${err.message}`))}`
    : "";
  return [...head, ...body, ...fields].join(" ") + error;
}

/** Copies `input` to `output` line by line, each through prettyLine. */
export function prettyStream(input: Readable, output: Writable, options: PrettyOptions): void {
  const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  lines.on("line", (text) => output.write(`${prettyLine(text, options)}\n`));
}

const clock = (time: unknown) => {
  const date = new Date(String(time));
  if (Number.isNaN(date.getTime())) return "--:--:--.---";
  const two = (n: number) => String(n).padStart(2, "0");
  return `${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}.${String(date.getMilliseconds()).padStart(3, "0")}`;
};

const serviceColour = (service: string) => {
  let hash = 0;
  for (const char of service) hash = (hash * 31 + char.charCodeAt(0)) | 0;
  return SERVICE_COLOUR[Math.abs(hash) % SERVICE_COLOUR.length] ?? 0;
};

const statusColour = (status: number) => (status >= 500 ? 31 : status >= 400 ? 33 : 32);

const fieldText = (value: unknown) => {
  if (typeof value === "string") return /[\s"=]/.test(value) ? JSON.stringify(value) : value;
  return JSON.stringify(value);
};

const indent = (text: string) =>
  text
    .split("\n")
    .map((line) => `    ${line}`)
    .join("\n");
