// Billing throughput: a 20,000-invoice run against the local payment function, at 0 ms and 50 ms
// provider latency. Prints invoices per second, database round trips per invoice, call latency.
//   npm run bench            (BILLING_CONCURRENCY, BENCH_INVOICES and BENCH_LATENCIES to vary it;
//                             BENCH_TINY=1: 50 invoices at 0 ms, see bench/size.ts)

import { type ChildProcess, spawn } from "node:child_process";
import { openSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { startEmbeddedPostgres } from "../dev/embedded-postgres.js";
import { freePort } from "../dev/free-port.js";
import { benchLogDir } from "./log-dir.js";
import { setting, size } from "./size.js";

const invoices = size("BENCH_INVOICES", 20_000, 50);
const concurrency = process.env.BILLING_CONCURRENCY ?? "64"; // Antaeus's default
// BENCH_PROFILE=dir writes a V8 CPU profile of each function there.
const nodeArgs = process.env.BENCH_PROFILE
  ? ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_PROFILE}`]
  : [];
const latencies = setting("BENCH_LATENCIES", "0,50", "0").split(",").map(Number);

const server = process.env.DATABASE_URL
  ? undefined
  : await startEmbeddedPostgres({
      dataDir: await mkdtemp(join(tmpdir(), "bench-pg-")),
      persistent: false,
      // BENCH_FSYNC_OFF=1 shows what commit flushes cost; the figures in the README keep fsync on.
      fast: process.env.BENCH_FSYNC_OFF === "1",
    });
const adminUrl = process.env.DATABASE_URL ?? server!.url;
const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });

async function database(name: string): Promise<string> {
  await admin`drop database if exists ${admin(name)}`;
  await admin`create database ${admin(name)}`;
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

const logDir = await benchLogDir();

/** A function as its own process, logs to a file (as a container runtime would take them). */
async function start(name: "antaeus" | "payment", env: Record<string, string>) {
  const port = await freePort();
  const log = openSync(join(logDir, `${name}.log`), "a");
  const child: ChildProcess = spawn(
    process.execPath,
    [...nodeArgs, "--import", "tsx", `functions/${name}/main.ts`],
    {
      env: { PATH: process.env.PATH ?? "", PORT: String(port), ...env },
      stdio: ["ignore", log, log],
    },
  );
  const url = `http://127.0.0.1:${port}`;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${name} exited; see ${logDir}/${name}.log`);
    if (
      await fetch(`${url}/readyz`).then(
        (r) => r.ok,
        () => false,
      )
    )
      break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const exited = new Promise((resolve) => child.once("exit", resolve));
  const stop = () => {
    child.kill("SIGTERM");
    return exited;
  };
  return { url, stop };
}

const results: string[] = [];
for (const latency of latencies) {
  const [antaeusUrl, ledgerUrl] = [
    await database(`bench_antaeus_${latency}`),
    await database(`bench_ledger_${latency}`),
  ];
  const payment = await start("payment", {
    DATABASE_URL: ledgerUrl,
    PAYMENT_AUTH: "off",
    ...(latency > 0 ? { PAYMENT_LATENCY_MS: String(latency) } : {}),
  });
  const antaeus = await start("antaeus", {
    DATABASE_URL: antaeusUrl,
    SEED_CUSTOMERS: String(invoices / 10),
    SEED_INVOICES_PER_CUSTOMER: "10",
    PAYMENT_PROVIDER_ENDPOINT: `${payment.url}/v1/charges`,
    BILLING_CONCURRENCY: concurrency,
  });
  const sql = postgres(antaeusUrl, { max: 1, onnotice: () => {} });
  // Every statement on the billing path is its own transaction (no BEGIN/COMMIT round trips),
  // so committed transactions count the round trips each function makes to its database.
  const transactions = async () => {
    await sql`select pg_stat_clear_snapshot()`;
    const rows = await sql<Array<{ datname: string; n: string }>>`
      select datname, xact_commit + xact_rollback as n from pg_stat_database
      where datname in (${`bench_antaeus_${latency}`}, ${`bench_ledger_${latency}`})`;
    return Object.fromEntries(rows.map((row) => [row.datname.split("_")[1], Number(row.n)]));
  };
  const before = await transactions();
  const response = await fetch(`${antaeus.url}/rest/v1/invoices/pay`, { method: "POST" });
  const run = (await response.json()) as { status: string; done: number; total: number };
  await new Promise((resolve) => setTimeout(resolve, 600)); // statistics are reported every 500 ms
  const after = await transactions();
  const perInvoice = (db: string) => ((after[db]! - before[db]!) / run.done).toFixed(3);
  const [timing] = await sql<[{ seconds: number }]>`
    select extract(epoch from finished_at - started_at)::float8 as seconds from billing_runs order by id desc limit 1`;
  const [calls] = await sql<[{ avg: number; p99: number }]>`
    select avg(latency_ms)::float8 as avg, percentile_cont(0.99) within group (order by latency_ms)::float8 as p99
    from payment_attempts`;
  const rate = run.done / timing.seconds;
  const goal = latency === 0 ? 2_000 : (0.8 * Number(concurrency)) / (latency / 1000);
  results.push(
    `latency ${String(latency).padStart(3)} ms | ${run.done} invoices in ${timing.seconds.toFixed(2)} s | ` +
      `${Math.round(rate)} invoices/s (goal ${Math.round(goal)}) | ` +
      `db round trips/invoice: Antaeus ${perInvoice("antaeus")}, payment ${perInvoice("ledger")} | ` +
      `provider call ${calls.avg.toFixed(1)} ms avg, ${calls.p99.toFixed(0)} ms p99 | status ${run.status}`,
  );
  process.stdout.write(`${results.at(-1)}\n`);
  await sql.end();
  await Promise.all([antaeus.stop(), payment.stop()]);
}
await admin.end();
await server?.stop();
process.stdout.write(
  `\nBILLING_CONCURRENCY=${concurrency}, both functions and PostgreSQL local on ${cpus().length} cores, load average ${loadavg()[0]!.toFixed(1)}\n${results.join("\n")}\n`,
);
