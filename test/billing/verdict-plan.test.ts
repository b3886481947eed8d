import postgres from "postgres";
import { describe, expect, it } from "vitest";
import { migrations } from "../../functions/antaeus/data/database.js";
import { recordVerdicts } from "../../functions/antaeus/data/verdicts.js";
import type { Verdict } from "../../functions/antaeus/domain/attempt.js";
import { connect, migrateUnderLock } from "../../functions/runtime/process/database.js";
import { claimThroughOneLane, paidVerdict } from "../support/claims.js";
import { createDatabase } from "../support/database.js";
import { memoryLogger } from "../support/memory-logger.js";

/**
 * A lane claims ahead of its calls, so a run of many invoices holds thousands CLAIMED while its
 * verdicts are written, 250 at a time. PostgreSQL's statistics on invoices are taken between runs
 * (or not yet, right after a bulk import), so it believes a run holds next to none. Planned on
 * that belief, the verdict statement read every claimed invoice and joined each to every verdict
 * of the batch: a second per batch at 10,000 claimed, and a 20,000-invoice run took five times as
 * long to record its verdicts as to make its calls (npm run bench, docs/performance.md). The plan
 * is read from PostgreSQL's own auto_explain: rows, not time.
 */
const CLAIMED_AHEAD = 2_000;
const BATCH = 100;

const { logger } = memoryLogger();

/** A run whose lane has claimed CLAIMED_AHEAD of its invoices, on a database of its own. */
async function runWithClaims(analysed: boolean) {
  const url = await createDatabase("verdict_plan");
  await migrateUnderLock(url, migrations, logger);
  const setup = await connect(url, { max: 2, logger });
  await setup`insert into customers (currency) values ('EUR')`;
  await setup`
    insert into invoices (customer_id, currency, amount_minor, period)
    select 1, 'EUR', 1000 + n, '2026-01-01' from generate_series(1, ${2 * CLAIMED_AHEAD}) n`;
  if (analysed) await setup`analyze invoices`;
  const { runId, invoices } = await claimThroughOneLane(setup, CLAIMED_AHEAD, "w");
  await setup.end();
  expect(invoices).toHaveLength(CLAIMED_AHEAD);
  return { url, runId, claimed: invoices };
}

interface PlanNode {
  "Node Type": string;
  "Relation Name"?: string;
  "Actual Rows": number;
  "Actual Loops": number;
  "Rows Removed by Filter"?: number;
  "Rows Removed by Join Filter"?: number;
  "Rows Removed by Index Recheck"?: number;
  Plans?: PlanNode[];
}

/** Every node of a plan with the rows it went through over all its loops (kept or removed). */
function rowsThrough(node: PlanNode): Array<{ node: string; rows: number }> {
  const perLoop =
    node["Actual Rows"] +
    (node["Rows Removed by Filter"] ?? 0) +
    (node["Rows Removed by Join Filter"] ?? 0) +
    (node["Rows Removed by Index Recheck"] ?? 0);
  const name = [node["Node Type"], node["Relation Name"]].filter(Boolean).join(" on ");
  return [
    { node: name, rows: perLoop * node["Actual Loops"] },
    ...(node.Plans ?? []).flatMap(rowsThrough),
  ];
}

/**
 * recordVerdicts, batch after batch, on a connection of its own that reports each plan as it ran.
 * Several batches: after five runs of a prepared statement PostgreSQL may switch to a plan
 * made without the parameters' values, which is the one a long run lives with.
 */
async function recordExplained(url: string, runId: number, batches: Verdict[][]) {
  const plans: PlanNode[] = [];
  const explained = postgres(url, {
    max: 1,
    connection: {
      session_preload_libraries: "auto_explain",
      "auto_explain.log_min_duration": "0",
      "auto_explain.log_analyze": "on",
      "auto_explain.log_format": "json",
      "auto_explain.log_level": "notice",
    },
    onnotice: (notice) => {
      const message = String(notice.message);
      const plan = (JSON.parse(message.slice(message.indexOf("{"))) as { Plan: PlanNode }).Plan;
      if (JSON.stringify(plan).includes('"Update"')) plans.push(plan);
    },
  });
  try {
    // postgres.js learns the server's array types with its first query (see connect).
    await explained`select 1`;
    let applied = 0;
    for (const batch of batches) applied += await recordVerdicts(explained, runId, batch, "w");
    return { applied, plans };
  } finally {
    await explained.end();
  }
}

describe("recording a batch of verdicts", () => {
  it.each([
    ["never analysed (a bulk import just landed)", false],
    ["analysed while no run held an invoice", true],
  ])(
    "goes through rows in proportion to the batch, not to what the run has claimed: statistics %s",
    async (_, analysed) => {
      const { url, runId, claimed } = await runWithClaims(analysed);

      const batches = Array.from({ length: 8 }, (_, n) =>
        claimed.slice(n * BATCH, (n + 1) * BATCH).map(paidVerdict),
      );

      const { applied, plans } = await recordExplained(url, runId, batches);

      expect(applied).toBe(8 * BATCH);
      expect(plans).toHaveLength(8);
      for (const [n, plan] of plans.entries()) {
        const heaviest = rowsThrough(plan).sort((a, b) => b.rows - a.rows)[0]!;
        expect(
          heaviest.rows,
          `batch ${n + 1}: ${heaviest.node} went through ${heaviest.rows} rows`,
        ).toBeLessThanOrEqual(4 * BATCH);
      }
    },
  );
});
