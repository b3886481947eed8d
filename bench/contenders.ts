// What bench/startup.ts and bench/charges.ts share: a local PostgreSQL, the production bundles
// (and the floor and the Fastify and Express ports of payment, bundled the same way), a local
// JWKS endpoint, and how each contender is spawned and found ready.
//   BENCH_NODE=/path/to/node runs the contenders on another Node (the images run Node 24).
//   BENCH_PROFILE=dir writes a V8 CPU profile of each contender's process there.

import { type ChildProcess, spawn } from "node:child_process";
import { openSync } from "node:fs";
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { get } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "esbuild";
import postgres from "postgres";
import { startEmbeddedPostgres } from "../dev/embedded-postgres.js";
import { freePort } from "../dev/free-port.js";
import {
  BUNDLE_BANNER,
  buildFunction,
  leaveOutUnused,
  requireBuiltins,
  zodTypeOnly,
} from "../scripts/build.mjs";
import { buildSnapshot } from "../scripts/snapshot.mjs";
import { ANTAEUS, ISSUER, signingKey, startJwksServer, token } from "../test/support/identity.js";
import { benchLogDir } from "./log-dir.js";

export const node = process.env.BENCH_NODE ?? process.execPath;

export async function nodeVersion(): Promise<string> {
  const child = spawn(node, ["--version"], { stdio: ["ignore", "pipe", "ignore"] });
  let out = "";
  child.stdout.on("data", (chunk) => {
    out += chunk;
  });
  await new Promise((resolve) => child.once("exit", resolve));
  return out.trim();
}

/**
 * The two functions as the images ship them, and the floor and the Fastify and Express ports of
 * payment bundled by the same esbuild, with the functions' options.
 */
export async function buildContenders(): Promise<void> {
  await buildFunction("payment");
  await buildFunction("antaeus");
  const options = {
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20.18",
    minifyWhitespace: true,
    minifySyntax: true,
    logLevel: "warning",
  } as const;
  await build({ ...options, entryPoints: ["bench/floor.ts"], outfile: "dist/bench/floor.mjs" });
  for (const port of ["fastify", "express"]) {
    await rm(`dist/bench/${port}`, { recursive: true, force: true });
    await build({
      ...options,
      entryPoints: [`bench/ports/${port}.ts`],
      // As the functions are built: split (what a dynamic import() loads is a chunk of its own),
      // and CommonJS dependencies get a require().
      outdir: `dist/bench/${port}`,
      outExtension: { ".js": ".mjs" },
      splitting: true,
      chunkNames: "chunk-[hash]",
      banner: { js: BUNDLE_BANNER },
      // The functions' plugins: the ports differ from payment in their HTTP layer only.
      plugins: [requireBuiltins, leaveOutUnused, zodTypeOnly],
      external: ["embedded-postgres"],
    });
    // Payment's migrations, found beside the bundle as in payment's image.
    await cp("functions/payment/data/migrations", `dist/bench/${port}/migrations`, {
      recursive: true,
    });
  }
}

/** A local PostgreSQL (embedded unless DATABASE_URL names one) and fresh databases on it. */
export async function localPostgres() {
  const server = process.env.DATABASE_URL
    ? undefined
    : await startEmbeddedPostgres({
        dataDir: await mkdtemp(join(tmpdir(), "bench-pg-")),
        persistent: false,
      });
  const adminUrl = process.env.DATABASE_URL ?? server!.url;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  return {
    admin,
    async database(name: string): Promise<string> {
      await admin`drop database if exists ${admin(name)} with (force)`;
      await admin`create database ${admin(name)}`;
      const url = new URL(adminUrl);
      url.pathname = `/${name}`;
      return url.toString();
    },
    async stop() {
      await admin.end();
      await server?.stop();
    },
  };
}

/** The floor writes into payment's ledger table: give its database payment's schema. */
export async function paymentSchema(url: string): Promise<void> {
  const folder = "functions/payment/data/migrations";
  const journal = JSON.parse(await readFile(`${folder}/meta/_journal.json`, "utf8")) as {
    entries: Array<{ tag: string }>;
  };
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  for (const { tag } of journal.entries) {
    const text = await readFile(`${folder}/${tag}.sql`, "utf8");
    for (const statement of text.split("--> statement-breakpoint")) await sql.unsafe(statement);
  }
  await sql.end();
}

/**
 * The issuer's key endpoint and Antaeus's token, as the payment auth tests make them, and the
 * settings each function needs to run with auth on, as production requires: payment's, and
 * Antaeus's (the production profile: only the probes open, its own token for continuations).
 */
export async function identity() {
  const key = await signingKey("bench-rsa");
  const jwks = await startJwksServer();
  jwks.state.keys = [key.jwk];
  // The key endpoint wants a reader token, as the Kubernetes API server does.
  jwks.state.token = "reader";
  const tokenFile = join(logDir, "jwks-reader-token");
  await writeFile(tokenFile, "reader\n");
  const authConfigFile = join(logDir, "antaeus-auth.json");
  await writeFile(
    authConfigFile,
    JSON.stringify({
      issuers: [
        { issuer: ISSUER, audiences: ["antaeus"], jwksUrl: jwks.url, jwksTokenFile: tokenFile },
      ],
      roles: { self: { subjects: [ANTAEUS] } },
    }),
  );
  const selfTokenFile = join(logDir, "antaeus-self-token");
  await writeFile(selfTokenFile, await token(key, { aud: "antaeus" }));
  return {
    env: {
      PAYMENT_AUTH_JWKS_TOKEN_FILE: tokenFile,
      PAYMENT_AUTH: "jwks",
      PAYMENT_AUTH_ISSUER: ISSUER,
      PAYMENT_AUTH_SUBJECT: ANTAEUS,
      PAYMENT_AUTH_JWKS_URL: jwks.url,
    },
    antaeusEnv: {
      ANTAEUS_AUTH_CONFIG_FILE: authConfigFile,
      ANTAEUS_AUTH_OPEN_ROUTES: "none",
      BILLING_SELF_TOKEN_FILE: selfTokenFile,
    },
    bearer: await token(key),
    close: jwks.close,
  };
}

export type Contender = {
  name: string;
  /** What Node runs: a script, or `--snapshot-blob <blob>` (a startup snapshot's own entry). */
  args: string[];
  env: Record<string, string>;
  /** Another Node binary than BENCH_NODE's for this contender alone. */
  node?: string;
};

/**
 * A function's contender started from a V8 startup snapshot of its modules, as the images start
 * it; the snapshot is built by the Node under test from the bundle's snapshot entry.
 */
export function fromSnapshot(contender: Contender): Contender {
  const script = contender.args[0]!.replace(/\.mjs$/, ".snapshot.cjs");
  const blob = script.replace(/\.snapshot\.cjs$/, ".blob");
  buildSnapshot(script, blob, contender.node ?? node);
  return { ...contender, name: `${contender.name}, snapshot`, args: ["--snapshot-blob", blob] };
}

interface Started {
  child: ChildProcess;
  url: string;
  /** Milliseconds from spawn to the first 200 from /readyz. */
  readyMs: number;
  /**
   * CPU time (user + system, every thread) the process spent up to that answer: what a busy
   * machine distorts least, as waiting for a core is not counted.
   */
  cpuMs: number;
  stop: () => Promise<void>;
}

const logDir = await benchLogDir();

/** BENCH_PROFILE=dir: a V8 CPU profile of every process started, written there when it exits. */
const profiling = process.env.BENCH_PROFILE
  ? ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_PROFILE}`]
  : [];

export async function startContender(contender: Contender, nodeArgs: string[] = []) {
  const port = await freePort();
  const log = openSync(join(logDir, `${contender.name.replace(/\W+/g, "-")}.log`), "a");
  const started = performance.now();
  const child = spawn(contender.node ?? node, [...profiling, ...nodeArgs, ...contender.args], {
    env: { PATH: process.env.PATH ?? "", PORT: String(port), ...contender.env },
    stdio: ["ignore", log, log],
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  let gone = false;
  void exited.then(() => {
    gone = true;
  });
  while (!(await ready(port))) {
    if (gone) throw new Error(`${contender.name} exited; see ${logDir}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  const readyMs = performance.now() - started;
  const cpuMs = await cpuTimeMs(child.pid!);
  return {
    child,
    url: `http://127.0.0.1:${port}`,
    readyMs,
    cpuMs,
    stop: async () => {
      child.kill("SIGTERM");
      await exited;
    },
  } satisfies Started;
}

function ready(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const request = get({ host: "127.0.0.1", port, path: "/readyz", agent: false }, (response) => {
      response.resume();
      resolve(response.statusCode === 200);
    });
    request.on("error", () => resolve(false));
  });
}

/**
 * CPU time of a process and all its threads so far, from the kernel, in ms: each thread's time
 * on a CPU (`/proc/<pid>/task/<tid>/schedstat`, nanoseconds) summed, finer than `/proc/<pid>/stat`'s
 * 10 ms clock ticks, which would round a 100 ms start by up to a tenth.
 */
async function cpuTimeMs(pid: number): Promise<number> {
  let ns = 0;
  for (const tid of await readdir(`/proc/${pid}/task`)) {
    const schedstat = await readFile(`/proc/${pid}/task/${tid}/schedstat`, "utf8").catch(() => "0");
    ns += Number(schedstat.split(" ")[0]);
  }
  return ns / 1e6;
}

/** Resident set size of a process, from the kernel, in MiB. */
export async function rssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const kib = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]);
  return kib / 1024;
}

export const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};
