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
  const line = logLine(text);
  return line ? layout(line, options) : text;
}

/** The logger's JSON object on this line, if it is one. */
function logLine(text: string): Record<string, unknown> | undefined {
  try {
    const line = JSON.parse(text) as unknown;
    if (typeof line !== "object" || line === null) return undefined;
    return typeof (line as { level?: unknown }).level === "string"
      ? (line as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

const isRequest = (line: Record<string, unknown>) =>
  line.msg === "request" && typeof line.method === "string";

/** One readable line; `fold` stands for a run of alike requests, written as one (foldRequests). */
function layout(
  line: Record<string, unknown>,
  options: PrettyOptions,
  fold?: { count: number; durations: string; tally: string[] },
): string {
  const paint = (code: number, value: string) =>
    options.colour ? `\x1b[${code}m${value}\x1b[0m` : value;
  const level = String(line.level);
  const service = String(line.service ?? "");
  const head = [
    paint(2, clock(line.time)),
    paint(serviceColour(service), service.padEnd(7)),
    paint(LEVEL_COLOUR[level] ?? 0, level.toUpperCase().padEnd(5)),
  ];
  const request = isRequest(line);
  const body = request
    ? [
        `${line.method} ${line.path}`,
        paint(statusColour(Number(line.status)), String(line.status)),
        ...(fold ? [`×${fold.count}`] : []),
        paint(2, `${fold?.durations ?? line.durationMs} ms`),
      ]
    : [String(line.msg ?? "")];
  const skip = request ? REQUEST_LAID_OUT : new Set<string>();
  const fields = fold
    ? fold.tally
    : Object.entries(line)
        // A flag that is off (replayed=false) says nothing either.
        .filter(
          ([key, value]) =>
            !LAID_OUT.has(key) && !skip.has(key) && value !== null && value !== false,
        )
        .map(([key, value]) => `${key}=${fieldText(value)}`);
  const err = line.err as { type?: string; message?: string; stack?: string } | undefined;
  const error = err
    ? `\n${paint(LEVEL_COLOUR.error ?? 0, indent(err.stack ?? `${err.type}: ${err.message}`))}`
    : "";
  return [...head, ...body, ...fields.map((field) => paint(2, field))].join(" ") + error;
}

/** How long a run of alike request lines may pause before its line is written. */
const FOLD_PAUSE_MS = 200;

/**
 * Copies `input` to `output` line by line, each through prettyLine, except that a run of alike
 * request lines (a billing run's thousand charges) becomes one line: see foldRequests.
 */
export function prettyStream(input: Readable, output: Writable, options: PrettyOptions): void {
  const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  const fold = foldRequests((text) => output.write(`${text}\n`), options);
  lines.on("line", fold.push);
  lines.on("close", fold.flush);
}

/**
 * Consecutive request lines of one service with the same level, method, route and status are
 * written as one, once the run ends (another line, or a pause): the count, the range of their
 * durations, and how often each text value of their own fields came (`charge=declined:486,…`).
 * Numbers of their own (invoice and customer ids) are left out: a person reads the tally, and
 * LOG_FORMAT=json keeps every line. A run of one is written as prettyLine writes it.
 */
export function foldRequests(write: (text: string) => void, options: PrettyOptions) {
  let run: Run | undefined;
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    clearTimeout(timer);
    if (run) write(folded(run, options));
    run = undefined;
  };
  const push = (text: string) => {
    const line = logLine(text);
    const key =
      line && isRequest(line)
        ? JSON.stringify([
            line.service,
            line.level,
            line.method,
            line.route ?? line.path,
            line.status,
          ])
        : undefined;
    if (run && run.key !== key) flush();
    if (!line || !key) return write(line ? layout(line, options) : text);
    run = joined(run, key, line);
    clearTimeout(timer);
    timer = setTimeout(flush, FOLD_PAUSE_MS);
  };
  return { push, flush };
}

/** A run of alike request lines as it grows: its first line and what the rest add to it. */
interface Run {
  key: string;
  first: Record<string, unknown>;
  count: number;
  fastest: number;
  slowest: number;
  /** Whether every line has the first one's path (else the run is shown as its route). */
  samePath: boolean;
  tally: Map<string, Map<string, number>>;
}

function joined(run: Run | undefined, key: string, line: Record<string, unknown>): Run {
  const durationMs = Number(line.durationMs);
  run ??= {
    key,
    first: line,
    count: 0,
    fastest: durationMs,
    slowest: durationMs,
    samePath: true,
    tally: new Map(),
  };
  run.count += 1;
  run.fastest = Math.min(run.fastest, durationMs);
  run.slowest = Math.max(run.slowest, durationMs);
  run.samePath &&= line.path === run.first.path;
  for (const [field, value] of Object.entries(line)) {
    if (LAID_OUT.has(field) || REQUEST_LAID_OUT.has(field) || typeof value !== "string") continue;
    const counts = run.tally.get(field) ?? new Map<string, number>();
    counts.set(value, (counts.get(value) ?? 0) + 1);
    run.tally.set(field, counts);
  }
  return run;
}

function folded(run: Run, options: PrettyOptions): string {
  if (run.count === 1) return layout(run.first, options);
  // Paths that differ (GET /rest/v1/invoices/1, /2, …) are shown as their route.
  const path = run.samePath ? run.first.path : run.first.route;
  return layout({ ...run.first, path }, options, {
    count: run.count,
    durations: `${run.fastest}–${run.slowest}`,
    tally: [...run.tally].map(
      ([field, counts]) =>
        `${field}=${[...counts].map(([value, n]) => `${fieldText(value)}:${n}`).join(",")}`,
    ),
  });
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
