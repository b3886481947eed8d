import { spawn } from "node:child_process";
import { once } from "node:events";
import { chmod, mkdtemp, readFile, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { type FunctionProcess, startFunction, TSX } from "../support/processes.js";

/** `npm start` and the embedded PostgreSQL it starts, as someone running it locally meets them. */

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const asRoot = process.getuid?.() === 0;
const cleanups: Array<() => Promise<unknown>> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** A directory of its own, `mode` for everything inside; removed after the file's tests. */
async function directory(mode: number): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "antaeus-local-"));
  await chmod(dir, mode);
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** What `npm start` runs, from `cwd`; resolves with how it ended and everything it printed. */
async function npmStart(cwd: string, env: Record<string, string>) {
  const child = spawn(process.execPath, ["--import", TSX, "dev/start.ts"], {
    cwd,
    env: { PATH: process.env.PATH ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  cleanups.push(async () => child.exitCode === null && child.kill("SIGKILL"));
  let output = "";
  child.stdout.on("data", (chunk) => {
    output += chunk;
  });
  child.stderr.on("data", (chunk) => {
    output += chunk;
  });
  // "close", not "exit": the output is all read by then.
  const [code] = await once(child, "close");
  return { code: code as number | null, output };
}

/** The postmaster's pid, from the lock file PostgreSQL keeps in its data directory. */
const postmasterPid = async (dataDir: string) =>
  Number((await readFile(join(dataDir, "postmaster.pid"), "utf8")).split("\n")[0]);

describe("npm start", () => {
  it("exits when its functions have exited", async () => {
    const { code, output } = await npmStart(ROOT, { PORT: "http", PAYMENT_PORT: "http" });
    expect(code).toBe(1);
    // The first to exit has its sibling stopped, which may go before it says anything.
    expect(output).toMatch(/^(antaeus|payment): invalid configuration/m);
  });

  it.runIf(asRoot)(
    "as root, from a directory the postgres user cannot enter, stops at once with one line saying what to do",
    async () => {
      // A clone in a private directory, as under /root: the project's files, linked.
      const clone = await directory(0o700);
      for (const entry of ["dev", "functions", "node_modules", "package.json"]) {
        await symlink(join(ROOT, entry), join(clone, entry));
      }
      const { code, output } = await npmStart(clone, { PORT: "0", PAYMENT_PORT: "0" });
      expect(code).toBe(1);
      const said = output.split("\n").filter((line) => /^(antaeus|payment): /.test(line));
      expect(said.length).toBeGreaterThanOrEqual(1);
      for (const line of said) {
        expect(line).toMatch(
          new RegExp(
            `^(antaeus|payment): embedded PostgreSQL runs as the user "postgres" when started as root, and that user cannot enter ${clone} \\(mode 700\\): .*set DATABASE_URL$`,
          ),
        );
      }
      expect(output).not.toMatch(/\n\s+at /); // no stack trace
    },
  );
});

describe("a function's embedded PostgreSQL", () => {
  // Reachable by the "postgres" user, which runs the server when the tests run as root.
  const workdir = () => directory(0o755);
  const started: FunctionProcess[] = [];
  afterAll(async () => {
    for (const fn of started) await fn.stop();
  });
  const start = async (cwd: string) => {
    const fn = await startFunction("payment", { PAYMENT_AUTH: "off" }, { cwd });
    started.push(fn);
    return fn;
  };

  it("left running by a function killed outright is stopped by the next start, which serves", async () => {
    const cwd = await workdir();
    const dataDir = join(cwd, ".data/payment-postgres");
    const first = await start(cwd);
    const orphan = await postmasterPid(dataDir);
    cleanups.push(async () => {
      try {
        process.kill(orphan, "SIGKILL");
      } catch {
        // stopped, as it should be
      }
    });
    await first.stop("SIGKILL");
    expect(() => process.kill(orphan, 0)).not.toThrow(); // still running, holding its lock

    const second = await start(cwd);
    expect(second.logs).toContainEqual(
      expect.objectContaining({
        level: "warn",
        pid: orphan,
        msg: "embedded PostgreSQL left running by a process that was killed; stopping it",
      }),
    );
    expect((await fetch(`${second.url}/readyz`)).status).toBe(200);
    expect(await postmasterPid(dataDir)).not.toBe(orphan);
  });

  it("is not taken from a function that still runs on it: the second says why, at once", async () => {
    const cwd = await workdir();
    const first = await start(cwd);
    const second = await startFunction(
      "payment",
      { PAYMENT_AUTH: "off" },
      { cwd, waitForListening: false },
    );
    expect(await second.exited).toEqual({ code: 1, signal: null });
    await expect
      .poll(() => second.text.join("\n"))
      .toContain(
        `payment: the embedded PostgreSQL in ${join(cwd, ".data/payment-postgres")} belongs to another running process (pid ${first.child.pid})`,
      );
    expect((await fetch(`${first.url}/readyz`)).status).toBe(200);
  });

  it("dying under a running function makes it not ready, and its log says so", async () => {
    const cwd = await workdir();
    const fn = await start(cwd);
    process.kill(await postmasterPid(join(cwd, ".data/payment-postgres")), "SIGKILL");
    await expect
      .poll(() => fn.logs.find((line) => line.level === "error"))
      .toMatchObject({
        signal: "SIGKILL",
        msg: "embedded PostgreSQL exited; the database is unreachable until this process restarts",
      });
    await expect.poll(async () => (await fetch(`${fn.url}/readyz`)).status).toBe(503);
    expect(fn.child.exitCode).toBeNull();
  });
});
