// `npm start`: both functions on this machine, wired as on Knative. Each function starts its own
// embedded PostgreSQL when DATABASE_URL is unset (data kept under .data/), so no setup is needed.
// On a terminal their JSON log lines are shown as readable ones (dev/pretty-logs.ts); piped, or
// with LOG_FORMAT=json, they pass through as they are. LOG_FORMAT=pretty asks for readable lines
// anywhere.
import { type ChildProcess, spawn } from "node:child_process";
import { prettyStream } from "./pretty-logs.js";

const ANTAEUS_PORT = process.env.PORT ?? "8080";
const PAYMENT_PORT = process.env.PAYMENT_PORT ?? "8081";

const format = process.env.LOG_FORMAT ?? (process.stdout.isTTY ? "pretty" : "json");
const colour = process.stdout.isTTY === true && !process.env.NO_COLOR;

function start(entry: string, env: Record<string, string | undefined>): ChildProcess {
  const child = spawn(process.execPath, ["--import", "tsx", entry], {
    // An unset value stays unset (spawn would pass the string "undefined").
    env: Object.fromEntries(
      Object.entries({ ...process.env, ...env }).filter(([, value]) => value !== undefined),
    ),
    stdio: ["inherit", format === "pretty" ? "pipe" : "inherit", "inherit"],
  });
  if (child.stdout) prettyStream(child.stdout, process.stdout, { colour });
  return child;
}

const payment = start("functions/payment/main.ts", {
  PORT: PAYMENT_PORT,
  DATABASE_URL: process.env.PAYMENT_DATABASE_URL ?? process.env.DATABASE_URL,
  // Local only: no Kubernetes issuer to verify tokens against. Payment logs a warning saying so.
  PAYMENT_AUTH: "off",
});
const antaeus = start("functions/antaeus/main.ts", {
  PORT: ANTAEUS_PORT,
  PAYMENT_PROVIDER_ENDPOINT: `http://127.0.0.1:${PAYMENT_PORT}/v1/charges`,
});

const children = [antaeus, payment];
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    for (const child of children) child.kill(signal);
  });
}
const running = new Set(children);
for (const child of children) {
  // "close": the process has exited and its output has been read to the end.
  child.on("close", (code) => {
    running.delete(child);
    // One function gone means the system is not whole: stop the other and report.
    for (const other of running) other.kill("SIGTERM");
    if (code !== 0) process.exitCode = code ?? 1;
    // Once both are gone there is nothing left to wait for.
    if (running.size === 0) process.exit();
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
