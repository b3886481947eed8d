// Started by dev/embedded-postgres.ts beside a PostgreSQL server that must not outlive the process
// that started it (a test run's): `node stop-with-parent.mjs <server pid> [directory]`, handed a
// pipe as fd 3 whose other end that process keeps. However that process ends (SIGKILL included),
// the system closes its end; on that end of file this stops the server with PostgreSQL's fast
// shutdown and removes its throwaway data directory. PostgreSQL cannot watch its parent itself.
import { readFileSync, rmSync } from "node:fs";
import { Socket } from "node:net";

const [pid, directory] = [Number(process.argv[2]), process.argv[3]];
const alive = () => {
  try {
    process.kill(pid, 0);
    // The pid may have been reused since: only a PostgreSQL server is stopped.
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim() === "postgres";
  } catch {
    return false;
  }
};
const stop = async () => {
  if (alive()) process.kill(pid, "SIGINT");
  for (let waited = 0; alive() && waited < 30_000; waited += 100) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  if (alive()) process.kill(pid, "SIGKILL");
  if (directory) rmSync(directory, { recursive: true, force: true });
  process.exit(0);
};
new Socket({ fd: 3, readable: true, writable: false })
  .on("end", stop)
  .on("error", stop)
  .on("data", () => {});
