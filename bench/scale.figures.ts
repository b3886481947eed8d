import { loadavg } from "node:os";
import { it } from "vitest";
import { forward, type ProviderCall, startStandIn } from "../test/support/stand-in.js";
import { exactlyOnceViolations, pay, type System, startSystem } from "../test/support/system.js";
import { size, TINY } from "./size.js";

/**
 * `npm run bench:scale`: how a billing run grows with the cluster. N Antaeus replicas (separate
 * processes) behind a stand-in for Knative's activator that gives each at most one lane at a time
 * (containerConcurrency 1 on the billing lanes' Service), payment with a latency and
 * PAYMENT_RATE_LIMIT, one PostgreSQL. Between Antaeus and payment a front counts the calls that
 * reach the provider, second by second, and the 429s it answers. Cases:
 *   pods      the rate limit far above N × C / L: the pods are the limit
 *   one lane  the same with one replica and one lane, for the ratio
 *   provider  the rate limit below N × C / L: the provider is the limit
 *   … kill    each again with one replica SIGKILLed when 40% of the run is done
 * Every case checks the outcome against payment's ledger: no invoice charged twice, none lost.
 *
 * BENCH_INVOICES (20000), BENCH_ONE_LANE_INVOICES (5000), BENCH_REPLICAS (4),
 * BILLING_CONCURRENCY (16), BENCH_LATENCY_MS (200), BENCH_RATE_LIMIT (150), BENCH_CASES (all,
 * comma-separated names) vary it (bench/size.ts; BENCH_TINY=1 for all at their smallest);
 * BENCH_INVOICES=1000000 works, given the time.
 */
const invoices = size("BENCH_INVOICES", 20_000, 400);
const oneLaneInvoices = size("BENCH_ONE_LANE_INVOICES", 5_000, 200);
const replicas = size("BENCH_REPLICAS", 4, 2);
const concurrency = size("BILLING_CONCURRENCY", 16, 8);
const latency = size("BENCH_LATENCY_MS", 200, 50);
const providerLimit = size("BENCH_RATE_LIMIT", 150, 100);
/** Far above what N × C / L asks: the limiter runs, and never binds. */
const podsLimit = 100 * Math.ceil((replicas * concurrency * 1000) / latency);

interface Case {
  name: string;
  replicas: number;
  invoices: number;
  limit: number;
  kill: boolean;
}

const CASES: Case[] = [
  { name: "one lane", replicas: 1, invoices: oneLaneInvoices, limit: podsLimit, kill: false },
  { name: "pods", replicas, invoices, limit: podsLimit, kill: false },
  { name: "provider", replicas, invoices, limit: providerLimit, kill: false },
  { name: "pods, kill", replicas, invoices, limit: podsLimit, kill: true },
  { name: "provider, kill", replicas, invoices, limit: providerLimit, kill: true },
];
const chosen = process.env.BENCH_CASES?.split(",").map((name) => name.trim());
const chosenCases = CASES.filter((spec) => !chosen || chosen.includes(spec.name));

/**
 * A case's goal in invoices a second, and whether the provider's limit binds it
 * (docs/performance.md, "Scale").
 */
function goalOf(spec: Case): { goal: number; bound: boolean } {
  const bound = spec.limit < (spec.replicas * concurrency * 1000) / latency;
  const pods = (0.85 * spec.replicas * concurrency * 1000) / latency;
  return { goal: bound ? 0.9 * spec.limit : pods, bound };
}

/**
 * A hang guard, not a goal: each case may take four times what its goal allows, plus a minute to
 * start and stop, so a larger size (BENCH_INVOICES=1000000: hours) gets a ceiling to match.
 */
const ceilingMs = chosenCases.reduce(
  (sum, spec) => sum + 60_000 + (4_000 * spec.invoices) / goalOf(spec).goal,
  0,
);

interface Measured {
  perSecond: number;
  busiestSecond: number;
  throttledShare: number;
  double: number;
  lost: number;
  roundTrips: number;
  status: string;
}

/** The most calls any one-second window saw, sliding over the arrival times. */
function busiestSecond(calls: ProviderCall[]): number {
  const times = calls.map((call) => call.at).sort((a, b) => a - b);
  let most = 0;
  for (let start = 0, end = 0; end < times.length; end++) {
    while ((times[end] as number) - (times[start] as number) >= 1_000) start++;
    most = Math.max(most, end - start + 1);
  }
  return most;
}

async function measure(spec: Case): Promise<Measured> {
  let payment = "";
  const statuses: number[] = [];
  const front = await startStandIn(async (call) => {
    const reply = await forward(payment, call);
    if (reply !== "hang") statuses.push(reply.status);
    return reply;
  });
  const system: System = await startSystem({
    replicas: spec.replicas,
    lanes: spec.replicas,
    antaeus: {
      SEED_CUSTOMERS: String(spec.invoices / 10),
      SEED_INVOICES_PER_CUSTOMER: "10",
      PAYMENT_PROVIDER_ENDPOINT: `${front.url}/v1/charges`,
      BILLING_CONCURRENCY: String(concurrency),
      BILLING_PROVIDER_RATE_LIMIT: String(spec.limit),
      // A dead lane's invoices wait out a lease: it covers one charge's worst case, (retries + 1)
      // deadlines and the waits between them (capped at 5 s).
      ...(TINY
        ? { PAYMENT_TIMEOUT_MS: "1000", PAYMENT_RETRIES: "1", BILLING_LEASE_MS: "8000" }
        : { PAYMENT_TIMEOUT_MS: "2000", PAYMENT_RETRIES: "2", BILLING_LEASE_MS: "20000" }),
    },
    payment: {
      PAYMENT_LATENCY_MS: String(latency),
      PAYMENT_RATE_LIMIT: String(spec.limit),
    },
  });
  payment = system.payment.url;
  try {
    const [{ db }] = await system.antaeusDb<[{ db: string }]>`select current_database() as db`;
    // Every statement on the billing path is its own transaction: committed transactions count
    // Antaeus's round trips to its database (the pay call's own waiting included).
    const transactions = async () => {
      await system.antaeusDb`select pg_stat_clear_snapshot()`;
      const [row] = await system.antaeusDb<[{ n: string }]>`
        select xact_commit + xact_rollback as n from pg_stat_database where datname = ${db}`;
      return Number(row.n);
    };
    const before = await transactions();
    const starter = system.antaeus[0]!;
    const paying = pay(starter.url);
    if (spec.kill) {
      // The last replica dies when 40% is done; its lane's invoices wait out their leases.
      const doomed = system.antaeus.at(-1)!;
      for (;;) {
        const [run] = await system.antaeusDb<[{ done: number }?]>`
          select paid + declined + hard_declined + retries_exhausted + rejected + network_error
                 + outcome_unknown + currency_mismatch + customer_not_found as done
          from billing_runs order by id desc limit 1`;
        if ((run?.done ?? 0) >= 0.4 * spec.invoices) break;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      await doomed.stop("SIGKILL");
      system.activator?.remove(doomed.url);
    }
    let { body } = await paying;
    // A run longer than the pay call's budget goes on in its lanes: wait for it.
    while (body.status !== "COMPLETED") {
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      const [run] = await system.antaeusDb<[{ status: "RUNNING" | "COMPLETED" }]>`
        select status from billing_runs where id = ${body.id}`;
      body = { ...body, status: run.status };
    }
    await new Promise((resolve) => setTimeout(resolve, 600)); // statistics are reported every 500 ms
    const roundTrips = (await transactions()) - before;
    const [timing] = await system.antaeusDb<[{ seconds: number; done: number }]>`
      select extract(epoch from finished_at - started_at)::float8 as seconds,
             paid + declined + hard_declined + retries_exhausted + rejected + network_error
               + outcome_unknown + currency_mismatch + customer_not_found as done
      from billing_runs where id = ${body.id}`;
    const violations = await exactlyOnceViolations(system);
    const double = violations.filter((v) => / charged \d+ times$/.test(v)).length;
    const throttled = statuses.filter((status) => status === 429).length;
    return {
      perSecond: timing.done / timing.seconds,
      busiestSecond: busiestSecond(front.calls),
      throttledShare: front.calls.length === 0 ? 0 : throttled / front.calls.length,
      double,
      lost: violations.length - double + (spec.invoices - timing.done),
      roundTrips: roundTrips / timing.done,
      status: body.status,
    };
  } finally {
    await system.stop();
    await front.close();
  }
}

it("prints how a billing run scales over replicas and under the provider's rate limit", {
  timeout: ceilingMs,
}, async () => {
  const lines: string[] = [];
  let oneLane: number | undefined;
  for (const spec of chosenCases) {
    const load = loadavg()[0]!.toFixed(2);
    const m = await measure(spec);
    const { goal, bound } = goalOf(spec);
    if (spec.name === "one lane") oneLane = m.perSecond;
    const line =
      `scale ${spec.name}: ${spec.replicas} replicas, ${spec.replicas} lanes, limit ${spec.limit}/s, latency ${latency} ms | ` +
      `${Math.round(m.perSecond)} invoices/s (${(m.perSecond / goal).toFixed(2)}x of goal) | ` +
      `busiest second ${m.busiestSecond} calls | 429s ${(100 * m.throttledShare).toFixed(2)}% | ` +
      `double charges ${m.double} | lost ${m.lost} | db round trips/invoice ${m.roundTrips.toFixed(3)}`;
    const ratio =
      !bound && oneLane && spec.replicas > 1
        ? `, ${(m.perSecond / oneLane).toFixed(2)}x one lane`
        : "";
    const note = `  ${spec.name}: run ${m.status}${ratio}, load average ${load} before, ${loadavg()[0]!.toFixed(2)} after`;
    lines.push(line, note);
    process.stdout.write(`${line}\n${note}\n`);
  }
  console.log(lines.join("\n"));
});
