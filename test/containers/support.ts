import { randomBytes } from "node:crypto";
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { containerEngine, engineOutput } from "../../scripts/containers.mjs";

export interface RunOptions {
  /** Knative's name for the service: K_SERVICE, K_CONFIGURATION, and K_REVISION's prefix. */
  service: string;
  image: string;
  port: number;
  env: Record<string, string>;
  /** Host file -> path in the container, mounted read-only (as Kubernetes mounts tokens). */
  files?: Record<string, string>;
}

export interface Container {
  id: string;
  name: string;
  url: string;
  logs: () => string;
  /** `stop -t grace`: SIGTERM, then SIGKILL after the grace period. */
  stop: (graceSeconds: number) => { exitCode: number; ms: number };
  remove: () => void;
}

/**
 * Runs an image as Knative runs it: the runtime contract's env (PORT, K_SERVICE, K_REVISION,
 * K_CONFIGURATION), the image's own non-root user, a read-only root file system with no tmpfs,
 * no capabilities, no privilege escalation. Host network, so it reaches the test's PostgreSQL
 * and JWKS server on 127.0.0.1.
 */
export function runContainer(options: RunOptions): Container {
  const engine = containerEngine();
  const name = `${options.service}-test-${randomBytes(3).toString("hex")}`;
  const env = {
    ...options.env,
    PORT: String(options.port),
    K_SERVICE: options.service,
    K_CONFIGURATION: options.service,
    K_REVISION: `${options.service}-00001`,
  };
  const args = [
    "run",
    "--detach",
    "--name",
    name,
    "--network",
    "host",
    "--read-only",
    // podman adds a writable /tmp to --read-only unless told not to; Knative adds nothing.
    ...(engine.kind === "podman" ? ["--read-only-tmpfs=false"] : []),
    "--cap-drop",
    "ALL",
    "--security-opt",
    "no-new-privileges",
    ...Object.entries(env).flatMap(([key, value]) => ["--env", `${key}=${value}`]),
    ...Object.entries(options.files ?? {}).flatMap(([host, inside]) => [
      "--volume",
      `${host}:${inside}:ro`,
    ]),
    options.image,
  ];
  const id = engineOutput(args);
  return {
    id,
    name,
    url: `http://127.0.0.1:${options.port}`,
    logs: () => engineOutput(["logs", id]),
    stop: (graceSeconds) => {
      const started = performance.now();
      engineOutput(["stop", "-t", String(graceSeconds), id]);
      const ms = Math.round(performance.now() - started);
      const exitCode = Number(engineOutput(["inspect", "--format", "{{.State.ExitCode}}", id]));
      return { exitCode, ms };
    },
    remove: () => {
      engineOutput(["rm", "--force", id]);
    },
  };
}

function isRunning(container: Container): boolean {
  return engineOutput(["inspect", "--format", "{{.State.Running}}", container.id]) === "true";
}

/** Polls /readyz until 200; fails early, with the logs, if the container exits. */
export async function waitUntilReady(container: Container, timeoutMs = 120_000): Promise<number> {
  const started = performance.now();
  while (performance.now() - started < timeoutMs) {
    try {
      const response = await fetch(`${container.url}/readyz`);
      if (response.status === 200) return Math.round(performance.now() - started);
    } catch {
      // not listening yet
    }
    if (!isRunning(container)) {
      throw new Error(`${container.name} exited before it was ready:\n${container.logs()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`${container.name} not ready after ${timeoutMs} ms:\n${container.logs()}`);
}

const fileDirs: string[] = [];

/** A file the container's non-root user can read through a read-only bind mount. */
export async function readableFile(contents: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "containers-"));
  fileDirs.push(dir);
  await chmod(dir, 0o755);
  const file = join(dir, "file");
  await writeFile(file, contents, { mode: 0o644 });
  return file;
}

export async function removeReadableFiles(): Promise<void> {
  for (const dir of fileDirs.splice(0)) await rm(dir, { recursive: true, force: true });
}
