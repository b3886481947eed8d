import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { startEmbeddedPostgres } from "../../functions/runtime/index.js";

declare module "vitest" {
  export interface ProvidedContext {
    postgresUrl: string;
  }
}

/**
 * One real PostgreSQL server for the whole run: DATABASE_URL when set, else a throwaway
 * embedded one. Each test file makes its own databases on it.
 */
export default async function setup(project: TestProject) {
  if (process.env.DATABASE_URL) {
    project.provide("postgresUrl", process.env.DATABASE_URL);
    return;
  }
  const dataDir = await mkdtemp(join(tmpdir(), "antaeus-test-pg-"));
  const server = await startEmbeddedPostgres({ dataDir, persistent: false, fast: true });
  project.provide("postgresUrl", server.url);
  return () => server.stop();
}
