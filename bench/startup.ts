// Cold start and idle memory: the floor (bench/floor.ts), both production bundles in their
// production configuration (NODE_ENV=production, auth on), and payment ported to Fastify and
// Express (bench/ports/), spawned in turn, round after round (so a busy moment on the machine
// hits all of them alike).
// Cold start: spawn → first 200 from /readyz, against a local PostgreSQL, migrations on start.
// CPU to ready: the process's own user + system time (all threads) at that moment, which a
// loaded machine inflates far less than the wall clock. Idle RSS: 2 s after ready.
// On Node 22.1+ each but the floor also runs with a V8 compile cache filled by the Node under test
// (bench/compile-cache.ts), as the images once shipped it. Both functions also run from a V8
// startup snapshot of their modules built by the Node under test (scripts/snapshot.mjs), as the
// images start them.
// Prints medians, min–max and ratios to the floor.
//   npm run bench:startup      (BENCH_ROUNDS=15, BENCH_IDLE_MS=2000; BENCH_NODE=/path/to/node for
//                               another Node; BENCH_TINY=1: one round, 100 ms idle)

import { loadavg } from "node:os";
import { fillCompileCache } from "./compile-cache.js";
import {
  buildContenders,
  type Contender,
  fromSnapshot,
  identity,
  localPostgres,
  median,
  node,
  nodeVersion,
  paymentSchema,
  rssMiB,
  startContender,
} from "./contenders.js";
import { size } from "./size.js";

const rounds = size("BENCH_ROUNDS", 15, 1);
const idleMs = size("BENCH_IDLE_MS", 2_000, 100);

await buildContenders();
const pg = await localPostgres();
const auth = await identity();
const floorUrl = await pg.database("bench_floor");
await paymentSchema(floorUrl);

const paymentEnv = { NODE_ENV: "production", ...auth.env };
const contenders: Contender[] = [
  { name: "floor", args: ["dist/bench/floor.mjs"], env: { DATABASE_URL: floorUrl } },
  {
    name: "payment (auth on)",
    args: ["dist/payment/payment.mjs"],
    env: { ...paymentEnv, DATABASE_URL: await pg.database("bench_payment") },
  },
  {
    name: "antaeus (auth on, seed off)",
    args: ["dist/antaeus/antaeus.mjs"],
    env: {
      NODE_ENV: "production",
      DATABASE_URL: await pg.database("bench_antaeus"),
      SEED_ENABLED: "false",
      PAYMENT_PROVIDER_ENDPOINT: "http://127.0.0.1:9/v1/charges",
      BILLING_LANE_URL: "http://127.0.0.1:9",
      // As knative/antaeus/service.yaml ships it: /metrics also alone on a port of its own.
      METRICS_PORT: "0",
      ...auth.antaeusEnv,
    },
  },
  {
    name: "payment on Fastify (auth on)",
    args: ["dist/bench/fastify/fastify.mjs"],
    env: { ...paymentEnv, DATABASE_URL: await pg.database("bench_fastify") },
  },
  {
    name: "payment on Express (auth on)",
    args: ["dist/bench/express/express.mjs"],
    env: { ...paymentEnv, DATABASE_URL: await pg.database("bench_express") },
  },
];

const [major, minor] = (await nodeVersion()).slice(1).split(".").map(Number) as [number, number];
if (major > 22 || (major === 22 && minor >= 1)) {
  for (const contender of contenders.slice(1)) {
    const script = contender.args[0]!;
    const dir = script.replace(/\.mjs$/, ".compile-cache");
    fillCompileCache(script, dir, node);
    contenders.push({
      ...contender,
      name: `${contender.name}, compile cache`,
      env: { ...contender.env, NODE_COMPILE_CACHE: dir },
    });
  }
}
// The functions started from a startup snapshot of their modules, built by the Node under test.
contenders.push(...contenders.slice(1, 3).map(fromSnapshot));

const figures = new Map(
  contenders.map((c) => [
    c.name,
    { ready: [] as number[], cpu: [] as number[], rss: [] as number[] },
  ]),
);
try {
  // One unmeasured start each: the first applies the migrations, later ones find them applied
  // (as every cold start after the first deploy does).
  for (const contender of contenders) await (await startContender(contender)).stop();
  for (let round = 0; round < rounds; round++) {
    for (const contender of contenders) {
      const started = await startContender(contender);
      await new Promise((resolve) => setTimeout(resolve, idleMs));
      const rss = await rssMiB(started.child.pid!);
      await started.stop();
      const figure = figures.get(contender.name)!;
      figure.ready.push(started.readyMs);
      figure.cpu.push(started.cpuMs);
      figure.rss.push(rss);
    }
    process.stderr.write(`round ${round + 1}/${rounds}\r`);
  }
} finally {
  await auth.close();
  await pg.stop();
}
process.stderr.write("\n");

const floor = figures.get("floor")!;
const lines = [
  `Node ${await nodeVersion()}, ${rounds} rounds, contenders interleaved, load average ${loadavg()[0]!.toFixed(1)}`,
  "| contender | cold start median (min–max) | × floor | CPU to ready median (min–max) | × floor | idle RSS median (min–max) | × floor |",
  "|---|---|---|---|---|---|---|",
];
const column = (values: number[], floorValues: number[], digits: number, unit: string) =>
  `${median(values).toFixed(digits)} ${unit} (${Math.min(...values).toFixed(digits)}–${Math.max(...values).toFixed(digits)}) ` +
  `| ${(median(values) / median(floorValues)).toFixed(2)}×`;
for (const [name, { ready, cpu, rss }] of figures) {
  lines.push(
    `| ${name} | ${column(ready, floor.ready, 0, "ms")} | ${column(cpu, floor.cpu, 0, "ms")} ` +
      `| ${column(rss, floor.rss, 1, "MiB")} |`,
  );
}
process.stdout.write(`${lines.join("\n")}\n`);
