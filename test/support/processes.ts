import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { createRequire } from "node:module";
import type { Socket } from "node:net";
import { createInterface } from "node:readline";
import { fileURLToPath, pathToFileURL } from "node:url";
import { inject } from "vitest";

export interface FunctionProcess {
  url: string;
  port: number;
  child: ChildProcess;
  /** JSON log lines seen so far. */
  logs: Array<Record<string, unknown>>;
  /** Lines that were not JSON (stderr included). */
  text: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop: (
    signal?: NodeJS.Signals,
  ) => Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

// A test that fails before its cleanup must not leave a function running after the run.
const running = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

/** The functions' sources, for a test that runs one from source (`source: true`). */
const SOURCE = {
  antaeus: fileURLToPath(new URL("../../functions/antaeus/main.ts", import.meta.url)),
  payment: fileURLToPath(new URL("../../functions/payment/main.ts", import.meta.url)),
};
/**
 * tsx by location, so that a function may run from any directory. Not `import.meta.resolve`:
 * vite 6's module runner, the one vitest runs on Node 20.18, has none.
 */
export const TSX = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;
/** Exits the function when the test's process goes, whatever ended it (see the file). */
const EXIT_WITH_PARENT = new URL("../../dev/exit-with-parent.cjs", import.meta.url).href;

/**
 * Runs a function as its own Node process, as Knative would run the image: from its startup
 * snapshot (built once for the run by the global setup from its bundle, as the images build and
 * start it), configured only by environment, logging JSON to stdout. Resolves once it logs where
 * it listens. It cannot outlive the test's process: it exits when the pipe it is given on fd 3
 * closes.
 */
export async function startFunction(
  name: keyof typeof SOURCE,
  env: Record<string, string>,
  options: {
    waitForListening?: boolean;
    nodeArgs?: string[];
    cwd?: string;
    /** From its bundle (`node <fn>.mjs`, the images' other entry) rather than its snapshot. */
    bundle?: boolean;
    /** From the TypeScript sources through tsx. */
    source?: boolean;
  } = {},
): Promise<FunctionProcess> {
  // Node runs no `--import` preload into a process started from a snapshot: exit-with-parent is
  // CommonJS, given with `--require` there.
  const [preload, entry] = options.source
    ? [
        ["--import", EXIT_WITH_PARENT],
        ["--import", TSX, SOURCE[name]],
      ]
    : options.bundle
      ? [["--import", EXIT_WITH_PARENT], [inject("functionBundles")[name]]]
      : [
          ["--require", fileURLToPath(EXIT_WITH_PARENT)],
          ["--snapshot-blob", inject("snapshotBlobs")[name]],
        ];
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), ...preload, ...entry], {
    env: { PATH: process.env.PATH ?? "", PORT: "0", LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "pipe", "pipe"],
    ...(options.cwd ? { cwd: options.cwd } : {}),
  });
  // Held open for as long as this process lives, without keeping it alive.
  (child.stdio[3] as Socket).unref();
  running.add(child);
  child.once("exit", () => running.delete(child));
  const logs: Array<Record<string, unknown>> = [];
  const text: string[] = [];
  const exited = once(child, "exit").then(([code, signal]) => ({
    code: code as number | null,
    signal: signal as NodeJS.Signals | null,
  }));
  let onListening: (port: number) => void = () => {};
  const listening = new Promise<number>((resolve) => {
    onListening = resolve;
  });
  createInterface({ input: child.stdout! }).on("line", (line) => {
    try {
      const entry = JSON.parse(line) as Record<string, unknown>;
      logs.push(entry);
      if (typeof entry.port === "number" && String(entry.msg).startsWith("listening")) {
        onListening(entry.port);
      }
    } catch {
      text.push(line);
    }
  });
  createInterface({ input: child.stderr! }).on("line", (line) => text.push(line));

  // A function that outlives its own hard stop (drain bound + 10 s) after a signal is killed,
  // so a hung one fails its test (signal SIGKILL) instead of outliving the run.
  const stop = async (signal: NodeJS.Signals = "SIGTERM") => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill(signal);
      const grace = Number(env.SHUTDOWN_TIMEOUT_MS ?? 20_000) + 15_000;
      const timer = setTimeout(() => child.kill("SIGKILL"), grace);
      exited.finally(() => clearTimeout(timer));
    }
    return exited;
  };
  if (options.waitForListening === false) {
    return { url: "", port: 0, child, logs, text, exited, stop };
  }
  const port = await Promise.race([
    listening,
    exited.then((result) => {
      throw new Error(
        `${name} exited before listening (${JSON.stringify(result)}): ${text.join("\n")}`,
      );
    }),
  ]);
  return { url: `http://127.0.0.1:${port}`, port, child, logs, text, exited, stop };
}

/** Where a function started with METRICS_PORT serves /metrics alone, as it logged it. */
export function metricsUrlOf(fn: FunctionProcess): string {
  const port = fn.logs.find((line) => line.msg === "metrics alone on their own port")?.port;
  if (typeof port !== "number") throw new Error("the function logged no metrics port");
  return `http://127.0.0.1:${port}`;
}
