import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { chmod, mkdtemp, readFile, readlink, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import postgres from "postgres";
import { afterAll, describe, expect, it } from "vitest";
import { memoryLogger } from "../test/support/memory-logger.js";
import { TSX } from "../test/support/processes.js";
import { type EmbeddedPostgres, startEmbeddedPostgres } from "./embedded-postgres.js";

/** The local PostgreSQL of `npm start` and the test run, as whoever starts it meets it. */

const asRoot = process.getuid?.() === 0;

const cleanups: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function dataDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "antaeus-embedded-"));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function started(options: Parameters<typeof startEmbeddedPostgres>[0]) {
  const server = await startEmbeddedPostgres({ fast: true, ...options });
  cleanups.push(server.stop);
  return server;
}

/** Another process that starts a server on `dir` and keeps running until killed. */
async function otherStarter(
  dir: string,
  options: { persistent: boolean; stopWithParent?: boolean } = { persistent: true },
): Promise<ChildProcess> {
  const module = new URL("./embedded-postgres.ts", import.meta.url).href;
  const child = spawn(
    process.execPath,
    [
      "--import",
      TSX,
      "--input-type=module",
      "-e",
      `import { startEmbeddedPostgres } from ${JSON.stringify(module)};
       await startEmbeddedPostgres({ dataDir: ${JSON.stringify(dir)}, fast: true, ...${JSON.stringify(options)} });
       console.log("started");
       setInterval(() => {}, 60_000);`,
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  cleanups.push(async () => child.exitCode === null && child.kill("SIGKILL"));
  const said = once(createInterface({ input: child.stdout! }), "line");
  const exited = once(child, "exit").then(([code]) => `exited ${code}`);
  expect(await Promise.race([said.then(([line]) => line), exited])).toBe("started");
  return child;
}

/** The postmaster's pid, from the lock file PostgreSQL keeps in its data directory. */
const postmasterPid = async (dir: string) =>
  Number((await readFile(join(dir, "postmaster.pid"), "utf8")).split("\n")[0]);

const answers = async (server: EmbeddedPostgres) => {
  const sql = postgres(server.url, { max: 1, onnotice: () => {} });
  try {
    return (await sql`select 1 as one`)[0]?.one;
  } finally {
    await sql.end();
  }
};

describe("the embedded PostgreSQL", () => {
  it("serves, keeps its data when persistent, and deletes it when not", async () => {
    const dir = await dataDir();
    const kept = await startEmbeddedPostgres({ dataDir: dir, persistent: true, fast: true });
    await kept.ensureDatabase("kept");
    await kept.stop();
    const again = await startEmbeddedPostgres({ dataDir: dir, persistent: false, fast: true });
    const sql = postgres(again.databaseUrl("kept"), { max: 1, onnotice: () => {} });
    expect((await sql`select current_database() as name`)[0]?.name).toBe("kept");
    await sql.end();
    await again.stop();
    await expect(readFile(join(dir, "PG_VERSION"))).rejects.toThrow(/ENOENT/);
  });

  it("left running by a process killed outright is stopped by the next start, which serves", async () => {
    const dir = await dataDir();
    const killed = await otherStarter(dir);
    const orphan = await postmasterPid(dir);
    cleanups.push(async () => {
      try {
        process.kill(orphan, "SIGKILL");
      } catch {
        // stopped, as it should be
      }
    });
    killed.kill("SIGKILL");
    await once(killed, "exit");
    expect(() => process.kill(orphan, 0)).not.toThrow(); // still running, holding its lock

    const { logger, lines } = memoryLogger();
    const server = await started({ dataDir: dir, persistent: true, logger });
    expect(lines).toContainEqual(
      expect.objectContaining({
        level: "warn",
        pid: orphan,
        msg: "embedded PostgreSQL left running by a process that was killed; stopping it",
      }),
    );
    expect(await answers(server)).toBe(1);
    expect(await postmasterPid(dir)).not.toBe(orphan);
  });

  it("started to stop with its starter (a test run's), goes when the starter is killed outright, its data with it", async () => {
    const dir = await dataDir();
    const killed = await otherStarter(dir, { persistent: false, stopWithParent: true });
    const server = await postmasterPid(dir);
    killed.kill("SIGKILL");
    await once(killed, "exit");
    await expect
      .poll(() => readFile(`/proc/${server}/comm`, "utf8").catch(() => "gone"), {
        timeout: 30_000,
        message: "the server outlived the process that started it",
      })
      .toBe("gone");
    await expect
      .poll(() => readFile(join(dir, "PG_VERSION")).catch((error) => error.code), {
        timeout: 10_000,
      })
      .toBe("ENOENT");
  });

  it("is not taken from a process that still runs on it: the second start says why, at once", async () => {
    const dir = await dataDir();
    const owner = await otherStarter(dir);
    await expect(startEmbeddedPostgres({ dataDir: dir, persistent: true })).rejects.toThrow(
      `the embedded PostgreSQL in ${dir} belongs to another running process (pid ${owner.pid}); stop it first, or give this one its own data directory`,
    );
    expect(owner.exitCode).toBeNull();
  });

  it("dying under its starter is logged as an error saying the database is unreachable", async () => {
    const dir = await dataDir();
    const { logger, lines } = memoryLogger();
    await started({ dataDir: dir, persistent: true, logger });
    process.kill(await postmasterPid(dir), "SIGKILL");
    await expect
      .poll(() => lines.find((line) => line.level === "error"))
      .toMatchObject({
        signal: "SIGKILL",
        msg: "embedded PostgreSQL exited; the database is unreachable until it is started again",
      });
  });

  it.runIf(asRoot)(
    "as root, runs as the user postgres from a copy of its programs under the temporary directory",
    async () => {
      const dir = await dataDir();
      const server = await started({ dataDir: dir, persistent: false });
      expect(await answers(server)).toBe(1);
      const pid = await postmasterPid(dir);
      const status = await readFile(`/proc/${pid}/status`, "utf8");
      const uid = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]);
      expect(uid).not.toBe(0);
      expect(await readlink(`/proc/${pid}/exe`)).toMatch(
        new RegExp(`^${tmpdir()}/antaeus-postgres/[^/]+/bin/postgres$`),
      );
    },
  );

  it.runIf(asRoot)(
    "as root, refuses a data directory the user postgres cannot enter, naming the directory",
    async () => {
      const parent = await mkdtemp(join(tmpdir(), "antaeus-private-"));
      cleanups.push(() => rm(parent, { recursive: true, force: true }));
      await chmod(parent, 0o700);
      await expect(
        startEmbeddedPostgres({ dataDir: join(parent, "data"), persistent: false }),
      ).rejects.toThrow(
        `embedded PostgreSQL runs as the user "postgres" when started as root, and that user cannot enter ${parent} (mode 700), above its data directory ${join(parent, "data")}`,
      );
    },
  );
});
