import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "../knative/manifests.js";
import { figureProblems } from "./figures.js";

/**
 * Every `npm run bench*` script of package.json, run as a person would run it but tiny
 * (BENCH_TINY=1, bench/size.ts): it must exit 0 and print whole figures. A bench added later is
 * found here without a line changed; the ones below also name the figures they must print.
 */
const scripts = Object.keys(
  (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { scripts: object }).scripts,
).filter((name) => /^bench(:|$)/.test(name));

const FIGURES: Record<string, RegExp[]> = {
  bench: [/\d+ invoices\/s/, /load average \d/],
  "bench:startup": [/^\| floor \|/m, /^\| payment/im, /^\| antaeus/im, /load average \d/],
  "bench:charges": [/charges\/s/, /^\| payment/im, /load average \d/],
  "bench:dunning": [/recovered by the schedule \(PAID on a retry\): \d+/, /load average \d/],
  "bench:scale": [/^scale pods: .* \| double charges 0 \| lost 0 \|/m, /load average \d/],
};

/** Size variables a caller may have set: the check runs each bench at its own tiny defaults. */
const SIZES =
  /^(BENCH_(ROUNDS|SECONDS|WARMUP_SECONDS|IDLE_MS|INVOICES|LATENCIES|ONE_LANE_INVOICES|REPLICAS|LATENCY_MS|RATE_LIMIT|CASES)|BILLING_CONCURRENCY)$/;

function npmRun(script: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !SIZES.test(name)));
  // Its own process group, so that a bench that hangs is stopped with every process it started.
  const child = spawn("npm", ["run", "--silent", script], {
    cwd: ROOT,
    env: { ...env, BENCH_TINY: "1" },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk) => {
    stdout += chunk;
  });
  child.stderr.on("data", (chunk) => {
    stderr += chunk;
  });
  const timer = setTimeout(() => process.kill(-child.pid!, "SIGKILL"), BENCH_TIMEOUT_MS);
  return new Promise((resolve) =>
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    }),
  );
}

/** Tiny, a bench takes seconds; one that ignores BENCH_TINY runs for minutes and is stopped. */
const BENCH_TIMEOUT_MS = 120_000;

describe("the benches, tiny", () => {
  it("are found in package.json", () => {
    expect(scripts).toEqual(expect.arrayContaining(Object.keys(FIGURES)));
  });

  it.each(scripts)("npm run %s exits 0 and prints its figures", async (script) => {
    const { code, stdout, stderr } = await npmRun(script);
    expect(code, `${stdout}\n${stderr}`).toBe(0);
    expect(figureProblems(stdout), stdout).toEqual([]);
    for (const figure of FIGURES[script] ?? []) expect(stdout).toMatch(figure);
    console.log(`npm run ${script} (BENCH_TINY=1):\n${stdout.trim()}`);
  });
});
