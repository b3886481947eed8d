import { spawn } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { createDatabase } from "../support/database.js";
import { TSX } from "../support/processes.js";

/**
 * What `npm start` prints for one pay call on a terminal: readable lines (LOG_FORMAT=pretty is
 * what a terminal gets). Piped, it prints the functions' JSON lines: start.test.ts's clone run.
 */

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const children: Array<ReturnType<typeof spawn>> = [];
afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
});

const freePort = () =>
  new Promise<number>((resolve) => {
    const probe = createServer().listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });

/** `npm start` on the test PostgreSQL, one pay call, Ctrl-C; its stdout, line by line. */
async function onePayCall(): Promise<string[]> {
  const [port, paymentPort] = [await freePort(), await freePort()];
  const child = spawn(process.execPath, ["--import", TSX, "dev/start.ts"], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? "",
      LOG_FORMAT: "pretty",
      PORT: String(port),
      PAYMENT_PORT: String(paymentPort),
      DATABASE_URL: await createDatabase("start_antaeus"),
      PAYMENT_DATABASE_URL: await createDatabase("start_payment"),
      SEED_CUSTOMERS: "4",
      SEED_INVOICES_PER_CUSTOMER: "2",
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  children.push(child);
  let output = "";
  child.stdout?.on("data", (chunk) => {
    output += chunk;
  });
  const closed = once(child, "close");
  while (!output.includes("Antaeus is up")) {
    if (child.exitCode !== null) throw new Error(`npm start ended:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const paid = await fetch(`http://127.0.0.1:${port}/rest/v1/invoices/pay`, { method: "POST" });
  expect(paid.status).toBe(200);
  child.kill("SIGINT");
  await closed;
  return output.split("\n").filter((line) => line.trim() !== "");
}

describe("npm start's output for one pay call", () => {
  it("on a terminal: readable lines, none of them JSON, a run of alike requests folded into one", async () => {
    const lines = await onePayCall();
    const logLines = lines.filter((line) => /^\d\d:\d\d:\d\d\.\d{3} (antaeus|payment) /.test(line));
    // Besides the log lines, only the announcement of where to find Antaeus.
    expect(
      lines.filter(
        (line) => !logLines.includes(line) && !/^ {2}|^Antaeus is up|^and watch/.test(line),
      ),
    ).toEqual([]);
    expect(lines.filter((line) => line.startsWith("{"))).toEqual([]);
    expect(
      logLines.filter((line) => / POST \/rest\/v1\/invoices\/pay 200 /.test(line)),
    ).toHaveLength(1);
    // Eight invoices, eight charges, counted by the lines that fold them (dev/pretty-logs.test.ts).
    const charges = logLines.filter((line) => / POST \/v1\/charges 200 /.test(line));
    expect(
      charges.map((line) => Number(/ ×(\d+) /.exec(line)?.[1] ?? 1)).reduce((a, b) => a + b, 0),
    ).toBe(8);
    expect(logLines.at(-1)).toMatch(/ stopped$/);
  });
});
