import { spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { TSX } from "../support/processes.js";

const FIXTURE = fileURLToPath(new URL("./fixtures/log-then-end.ts", import.meta.url));

/** The fixture's stdout, whole, and how it ended. */
async function run(count: number, ending: "exit" | "throw" | "drain") {
  const child = spawn(process.execPath, ["--import", TSX, FIXTURE, String(count), ending], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  const chunks: Buffer[] = [];
  child.stdout.on("data", (chunk: Buffer) => chunks.push(chunk));
  child.stderr.resume();
  const [code] = await once(child, "close");
  return { code, lines: Buffer.concat(chunks).toString("utf8").split("\n").slice(0, -1) };
}

describe("log lines waiting to be written when the process ends", () => {
  // 20,000 lines are about 2 MB: many times the 64 KiB written at once, and a full pipe.
  it.each([
    ["process.exit", "exit", 3],
    ["an uncaught exception", "throw", 1],
    ["an empty event loop", "drain", 0],
  ] as const)("are all written, in order, on %s", async (_, ending, exitCode) => {
    const { code, lines } = await run(20_000, ending);
    expect(code).toBe(exitCode);
    expect(lines).toHaveLength(20_000);
    expect(lines.map((line) => JSON.parse(line).line)).toEqual(
      Array.from({ length: 20_000 }, (_, line) => line),
    );
  });
});
