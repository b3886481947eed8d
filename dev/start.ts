// `npm start`: both functions on this machine, wired as on Knative. Without DATABASE_URL, one
// local PostgreSQL serves both, a database each (as two functions with their own databases, at
// the cost of one server's start and memory). Its data is kept under .data/postgres; as root,
// where PostgreSQL runs as the user "postgres", which may not enter the project's directory
// (a clone under /root), it is kept under the system's temporary directory instead.
// On a terminal the JSON log lines are shown as readable ones (dev/pretty-logs.ts); piped, or
// with LOG_FORMAT=json, they pass through as they are. LOG_FORMAT=pretty asks for readable lines
// anywhere.
import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import type { Socket } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createLogger } from "../functions/runtime/process/logger.js";
import { type EmbeddedPostgres, startEmbeddedPostgres } from "./embedded-postgres.js";
import { prettyLine, prettyStream } from "./pretty-logs.js";

const ANTAEUS_PORT = process.env.PORT ?? "8080";
const PAYMENT_PORT = process.env.PAYMENT_PORT ?? "8081";
// Both functions run with auth off here: only this machine may reach them, unless HOST says
// otherwise (HOST=0.0.0.0 opens them to the network).
const HOST = process.env.HOST ?? "127.0.0.1";
const format = process.env.LOG_FORMAT ?? (process.stdout.isTTY ? "pretty" : "json");
const colour = process.stdout.isTTY === true && !process.env.NO_COLOR;
const logger = createLogger("start", process.env.LOG_LEVEL ?? "info", undefined, {
  write: (line) =>
    process.stdout.write(
      format === "pretty" ? `${prettyLine(line.trimEnd(), { colour })}\n` : line,
    ),
});

/** Where the local server keeps its data: in the project, or as root under the temporary directory. */
function dataDir(): string {
  const inProject = resolve(".data/postgres");
  if (process.getuid?.() !== 0) return inProject;
  const project = createHash("sha256").update(inProject).digest("hex").slice(0, 12);
  return join(tmpdir(), "antaeus-postgres", `data-${project}`);
}

let postgres: EmbeddedPostgres | undefined;
let antaeusDatabase = process.env.DATABASE_URL;
let paymentDatabase = process.env.PAYMENT_DATABASE_URL ?? process.env.DATABASE_URL;
if (!antaeusDatabase || !paymentDatabase) {
  const where = dataDir();
  try {
    // Its own process group: on Ctrl-C the functions drain first, then it is stopped.
    postgres = await startEmbeddedPostgres({
      dataDir: where,
      persistent: true,
      logger,
      detached: true,
    });
    antaeusDatabase ??= await postgres.ensureDatabase("antaeus");
    paymentDatabase ??= await postgres.ensureDatabase("payment");
  } catch (error) {
    // What to fix, in one line; not a stack trace.
    await postgres?.stop();
    process.stderr.write(`npm start: ${error instanceof Error ? error.message : error}\n`);
    process.exit(1);
  }
  logger.info({ dataDir: where, port: postgres.port }, "local PostgreSQL for both functions");
}

/** Exits a function when this process goes, however it went (see the file). */
const EXIT_WITH_PARENT = import.meta.resolve("./exit-with-parent.cjs");

function start(entry: string, env: Record<string, string | undefined>): ChildProcess {
  const child = spawn(process.execPath, ["--import", "tsx", "--import", EXIT_WITH_PARENT, entry], {
    // An unset value stays unset (spawn would pass the string "undefined").
    env: Object.fromEntries(
      Object.entries({ ...process.env, ...env }).filter(([, value]) => value !== undefined),
    ),
    stdio: ["inherit", format === "pretty" ? "pipe" : "inherit", "inherit", "pipe"],
    // A process group of its own: a terminal's Ctrl-C reaches this process only, which passes it
    // on once (a second signal would cut a function's drain short).
    detached: true,
  });
  (child.stdio[3] as Socket).unref();
  if (child.stdout) prettyStream(child.stdout, process.stdout, { colour });
  return child;
}

const payment = start("functions/payment/main.ts", {
  PORT: PAYMENT_PORT,
  HOST,
  DATABASE_URL: paymentDatabase,
  // Local only: no Kubernetes issuer to verify tokens against. Payment logs a warning saying so.
  PAYMENT_AUTH: "off",
});
const antaeus = start("functions/antaeus/main.ts", {
  PORT: ANTAEUS_PORT,
  HOST,
  DATABASE_URL: antaeusDatabase,
  PAYMENT_PROVIDER_ENDPOINT: `http://127.0.0.1:${PAYMENT_PORT}/v1/charges`,
});

const children = [antaeus, payment];
const running = new Set(children);
let stopping = false;
const stop = (signal: NodeJS.Signals) => {
  if (stopping) return;
  stopping = true;
  for (const child of running) child.kill(signal);
};
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => stop(signal));
for (const child of children) {
  // "close": the process has exited and its output has been read to the end.
  child.on("close", async (code) => {
    running.delete(child);
    // One function gone means the system is not whole: stop the other and report.
    stop("SIGTERM");
    if (code !== 0) process.exitCode = code ?? 1;
    // Once both are gone there is nothing left to wait for; their database goes last.
    if (running.size > 0) return;
    await postgres?.stop();
    process.exit();
  });
}

async function announce() {
  const base = `http://localhost:${ANTAEUS_PORT}`;
  while (running.size === children.length) {
    const ready = await Promise.all(
      [`${base}/readyz`, `http://127.0.0.1:${PAYMENT_PORT}/readyz`].map((url) =>
        fetch(url).then(
          (r) => r.ok,
          () => false,
        ),
      ),
    );
    if (ready.every(Boolean)) {
      process.stdout.write(
        `\nAntaeus is up at ${base} (payment at http://localhost:${PAYMENT_PORT}). Try:\n` +
          `  curl ${base}/rest/v1/invoices/1\n` +
          `  curl -X POST ${base}/rest/v1/invoices/pay\n` +
          `  curl "${base}/rest/v1/invoices?status=PAID"\n` +
          `and watch the runs at ${base}/runs\n\n`,
      );
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
void announce();
