import { rmSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * A folder for the logs of the processes a bench starts: kept when the bench fails (its error
 * names the folder), removed when it exits cleanly.
 */
export async function benchLogDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "bench-logs-"));
  process.once("exit", (code) => {
    if (code === 0) rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}
