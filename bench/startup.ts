// Cold start and idle memory: the floor (bench/floor.ts) and both production bundles, spawned
// in turn, round after round (so a busy moment on the machine hits all of them alike).
// Cold start: spawn → first 200 from /readyz, against a local PostgreSQL, migrations on start.
// Idle RSS: 2 s after ready. Prints medians, min–max and ratios to the floor.
//   npm run bench:startup      (BENCH_ROUNDS=15; BENCH_NODE=/path/to/node for another Node)

import {
  buildContenders,
  type Contender,
  identity,
  localPostgres,
  median,
  nodeVersion,
  paymentSchema,
  rssMiB,
  startContender,
} from "./contenders.js";

const rounds = Number(process.env.BENCH_ROUNDS ?? 15);
const idleMs = 2_000;

await buildContenders();
const pg = await localPostgres();
const auth = await identity();
const floorUrl = await pg.database("bench_floor");
await paymentSchema(floorUrl);

const contenders: Contender[] = [
  { name: "floor", script: "dist/bench/floor.mjs", env: { DATABASE_URL: floorUrl } },
  {
    name: "payment (auth on)",
    script: "dist/payment/payment.mjs",
    env: {
      NODE_ENV: "production",
      DATABASE_URL: await pg.database("bench_payment"),
      ...auth.env,
    },
  },
  {
    name: "antaeus (seed off)",
    script: "dist/antaeus/antaeus.mjs",
    env: {
      NODE_ENV: "production",
      DATABASE_URL: await pg.database("bench_antaeus"),
      SEED_ENABLED: "false",
      PAYMENT_PROVIDER_ENDPOINT: "http://127.0.0.1:9/v1/charges",
      BILLING_SELF_URL: "http://127.0.0.1:9",
    },
  },
];

const figures = new Map(
  contenders.map((c) => [c.name, { ready: [] as number[], rss: [] as number[] }]),
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
      figures.get(contender.name)!.ready.push(started.readyMs);
      figures.get(contender.name)!.rss.push(rss);
    }
    process.stderr.write(`round ${round + 1}/${rounds}\r`);
  }
} finally {
  await auth.close();
  await pg.stop();
}
process.stderr.write("\n");

const floor = figures.get("floor")!;
const [floorReady, floorRss] = [median(floor.ready), median(floor.rss)];
const lines = [
  `Node ${await nodeVersion()}, ${rounds} rounds, contenders interleaved`,
  "| contender | cold start median (min–max) | × floor | idle RSS median (min–max) | × floor |",
  "|---|---|---|---|---|",
];
for (const [name, { ready, rss }] of figures) {
  const range = (values: number[], digits: number) =>
    `${Math.min(...values).toFixed(digits)}–${Math.max(...values).toFixed(digits)}`;
  lines.push(
    `| ${name} | ${median(ready).toFixed(0)} ms (${range(ready, 0)}) | ${(median(ready) / floorReady).toFixed(2)}× ` +
      `| ${median(rss).toFixed(1)} MiB (${range(rss, 1)}) | ${(median(rss) / floorRss).toFixed(2)}× |`,
  );
}
process.stdout.write(`${lines.join("\n")}\n`);
