import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { it } from "vitest";
import { startEventSink } from "../test/support/event-sink.js";
import { pay, startSystem } from "../test/support/system.js";
import { size } from "./size.js";

const invoices = size("BENCH_INVOICES", 1_000, 20);

/**
 * A 1,000-invoice run (BENCH_INVOICES; BENCH_TINY=1: 20) with the default rates
 * (PAYMENT_SUCCESS_RATE 0.5, the default decline mix, BILLING_RETRY_SCHEDULE P1D,P3D,P7D), then
 * the watchdog at each step of the schedule on a billing clock moved through BILLING_CLOCK_FILE.
 * Prints how many invoices the schedule recovered and how many events of each type reached the
 * sink.
 */
it(`prints the dunning figures for ${invoices} invoices`, async () => {
  const clock = join(mkdtempSync(join(tmpdir(), "antaeus-clock-")), "now");
  const start = Date.parse("2026-10-15T10:00:00Z");
  const setClock = (days: number) =>
    writeFileSync(clock, new Date(start + days * 86_400_000).toISOString());
  setClock(0);
  const sink = await startEventSink();
  const system = await startSystem({
    antaeus: {
      SEED_CUSTOMERS: String(invoices),
      SEED_INVOICES_PER_CUSTOMER: "1",
      BILLING_CLOCK_FILE: clock,
      K_SINK: sink.url,
    },
  });
  const url = system.antaeus[0]!.url;
  try {
    const first = await pay(url);
    for (const day of [1, 3, 7]) {
      setClock(day);
      // Hourly in production; here until nothing is due at this step.
      for (;;) {
        const body = (await (
          await fetch(`${url}/rest/v1/billing/resume`, { method: "POST" })
        ).json()) as { run: unknown };
        if (body.run === null) break;
      }
    }
    const statuses = await system.antaeusDb<Array<{ status: string; n: number }>>`
      select status, count(*)::int as n from invoices group by status order by status`;
    const [recovered] = await system.antaeusDb<[{ n: number }]>`
      select coalesce(sum(recovered), 0)::int as n from billing_runs`;
    const byType = new Map<string, { delivered: number; distinct: Set<string> }>();
    for (const event of sink.received) {
      const entry = byType.get(event.type) ?? { delivered: 0, distinct: new Set() };
      entry.delivered++;
      entry.distinct.add(event.id);
      byType.set(event.type, entry);
    }
    console.log(
      [
        `${invoices} invoices, load average ${loadavg()[0]!.toFixed(1)}`,
        `first run: ${JSON.stringify(first.body.counts)}`,
        `final statuses: ${statuses.map((s) => `${s.status} ${s.n}`).join(", ")}`,
        `recovered by the schedule (PAID on a retry): ${recovered.n}`,
        ...[...byType].map(
          ([type, e]) => `${type}: ${e.distinct.size} events (${e.delivered} deliveries)`,
        ),
      ].join("\n"),
    );
  } finally {
    await system.stop();
    await sink.close();
    rmSync(dirname(clock), { recursive: true, force: true });
  }
});
