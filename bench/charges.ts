// Charge throughput: autocannon, 64 connections, every request with its own Idempotency-Key,
// against the floor (bench/floor.ts), payment with auth off, and payment in production with
// auth on (RS256 tokens checked against a local JWKS endpoint), from its bundle and from its
// startup snapshot as the images start it. Contenders take turns, round after round. Each run
// checks the ledger against the 2xx answers: every one is a row, and the only rows beyond them
// are requests still in flight when the run stopped.
// Prints req/s, p50/p99 latency, the server's CPU time per request, and ratios to the floor.
//   npm run bench:charges      (BENCH_ROUNDS=3, BENCH_SECONDS=10, BENCH_NODE=/path/to/node;
//                               BENCH_TINY=1: one round of 1 s after a 1 s warm-up)

import { randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import { loadavg } from "node:os";
import autocannon from "autocannon";
import postgres from "postgres";
import {
  buildContenders,
  type Contender,
  fromSnapshot,
  identity,
  localPostgres,
  median,
  nodeVersion,
  paymentSchema,
  startContender,
} from "./contenders.js";
import { size } from "./size.js";

const rounds = size("BENCH_ROUNDS", 3, 1);
const seconds = size("BENCH_SECONDS", 10, 1);
const warmUpSeconds = size("BENCH_WARMUP_SECONDS", 2, 1);
const connections = 64;

await buildContenders();
const pg = await localPostgres();
const auth = await identity();

const contenders: Array<Contender & { headers?: Record<string, string> }> = [
  { name: "floor", args: ["dist/bench/floor.mjs"], env: {} },
  {
    name: "payment, auth off",
    args: ["dist/payment/payment.mjs"],
    env: { PAYMENT_AUTH: "off" },
  },
  ...(
    [
      ["payment, production, auth on", "dist/payment/payment.mjs"],
      ["payment on Fastify, production, auth on", "dist/bench/fastify/fastify.mjs"],
      ["payment on Express, production, auth on", "dist/bench/express/express.mjs"],
    ] as const
  ).map(([name, script]) => ({
    name,
    args: [script],
    env: { NODE_ENV: "production", ...auth.env },
    headers: { authorization: `Bearer ${auth.bearer}` },
  })),
];
// As the images start it: from the startup snapshot of its modules.
const shipped = contenders.find((c) => c.name === "payment, production, auth on")!;
contenders.splice(contenders.indexOf(shipped) + 1, 0, {
  ...fromSnapshot(shipped),
  headers: shipped.headers,
});

interface Run {
  rate: number;
  p50: number;
  p99: number;
  cpuUsPerRequest: number;
}
const runs = new Map<string, Run[]>(contenders.map((c) => [c.name, []]));
const problems: string[] = [];

/** Rows of requests in flight when a run stopped: written, but answered to no one. */
const cutOff: number[] = [];

try {
  for (let round = 0; round < rounds; round++) {
    for (const contender of contenders) {
      const url = await pg.database("bench_charges");
      if (contender.name === "floor") await paymentSchema(url);
      const server = await startContender({
        ...contender,
        env: { ...contender.env, DATABASE_URL: url },
      });
      const pid = server.child.pid!;
      const body = JSON.stringify({ invoice_id: 1, customer_id: 1, currency: "EUR", value: 10 });
      let answered: string[] = [];
      const load = (duration: number) =>
        autocannon({
          url: `${server.url}/v1/charges`,
          connections,
          duration,
          requests: [
            {
              method: "POST",
              // One request in flight per connection: the context names the one answered.
              setupRequest: (request, context: { key?: string }) => {
                context.key = randomUUID();
                return {
                  ...request,
                  body,
                  headers: {
                    ...request.headers,
                    "content-type": "application/json",
                    "idempotency-key": context.key,
                    ...contender.headers,
                  },
                };
              },
              onResponse: (status, _body, context: { key?: string }) => {
                if (status >= 200 && status < 300 && context.key) answered.push(context.key);
              },
            },
          ],
        });
      const sql = postgres(url, { max: 1, onnotice: () => {} });
      const rows = async () =>
        Number((await sql<[{ n: string }]>`select count(*) as n from payment.charges`)[0].n);
      // Requests cut off when a run stops still finish on the server: count once they have.
      const settledRows = async () => {
        for (let last = -1; ; ) {
          await new Promise((resolve) => setTimeout(resolve, 300));
          const now = await rows();
          if (now === last) return now;
          last = now;
        }
      };
      await load(warmUpSeconds); // JIT, pools, the JWKS fetch
      const [rowsBefore, cpuBefore] = [await settledRows(), await cpuTicks(pid)];
      answered = [];
      const result = await load(seconds);
      const cpu = (await cpuTicks(pid)) - cpuBefore;
      const written = (await settledRows()) - rowsBefore;
      const [{ n: recorded }] = await sql<[{ n: string }]>`
        select count(*) as n from payment.charges where idempotency_key = any(${answered})`;
      await sql.end();
      await server.stop();

      const ok = result["2xx"];
      if (result.non2xx > 0 || result.errors > 0) {
        problems.push(`${contender.name}: ${result.non2xx} non-2xx, ${result.errors} errors`);
      }
      if (Number(recorded) !== answered.length || answered.length !== ok) {
        problems.push(
          `${contender.name}: ${answered.length} keys answered 2xx, ${recorded} of them in the ledger`,
        );
      }
      cutOff.push(written - ok);
      runs.get(contender.name)!.push({
        rate: ok / result.duration,
        p50: result.latency.p50,
        p99: result.latency.p99,
        cpuUsPerRequest: (cpu * 10_000) / ok,
      });
    }
    process.stderr.write(`round ${round + 1}/${rounds}\r`);
  }
} finally {
  await auth.close();
  await pg.stop();
}
process.stderr.write("\n");

/** utime + stime of a process, in clock ticks (1/100 s on Linux). */
async function cpuTicks(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(fields[11]) + Number(fields[12]);
}

const floorRate = median(runs.get("floor")!.map((run) => run.rate));
const lines = [
  `Node ${await nodeVersion()}, ${connections} connections, ${rounds} × ${seconds} s per contender, interleaved, load average ${loadavg()[0]!.toFixed(1)}`,
  "| contender | charges/s median (each run) | × floor | p50 / p99 ms | server CPU µs/charge |",
  "|---|---|---|---|---|",
];
for (const [name, list] of runs) {
  const rate = median(list.map((run) => run.rate));
  lines.push(
    `| ${name} | ${rate.toFixed(0)} (${list.map((run) => run.rate.toFixed(0)).join(", ")}) ` +
      `| ${(rate / floorRate).toFixed(2)}× ` +
      `| ${median(list.map((run) => run.p50)).toFixed(0)} / ${median(list.map((run) => run.p99)).toFixed(0)} ` +
      `| ${median(list.map((run) => run.cpuUsPerRequest)).toFixed(0)} |`,
  );
}
lines.push(
  `Every 2xx answer's key is in the ledger${problems.length > 0 ? ", except as listed below" : ""}; ` +
    `rows of requests cut off at each run's stop: ${cutOff.join(", ")}`,
);
process.stdout.write(`${lines.join("\n")}\n`);
if (problems.length > 0) {
  process.stdout.write(`LEDGER OR ANSWER MISMATCH:\n${problems.join("\n")}\n`);
  process.exitCode = 1;
}
