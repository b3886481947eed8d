import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildFunction } from "./build.mjs";

interface Metafile {
  inputs: Record<string, unknown>;
  outputs: Record<string, { imports: Array<{ path: string; kind: string; external?: boolean }> }>;
}

const outRoot = await mkdtemp(join(tmpdir(), "build-test-"));
afterAll(() => rm(outRoot, { recursive: true, force: true }));

describe.each(["antaeus", "payment"] as const)("%s's production bundle", (name) => {
  let meta: Metafile;
  beforeAll(async () => {
    await buildFunction(name, { outRoot });
    meta = JSON.parse(await readFile(join(outRoot, `${name}.meta.json`), "utf8")) as Metafile;
  });

  it("holds nothing of development (the readable-log printer) and only its own logger", () => {
    const inputs = Object.keys(meta.inputs);
    expect(inputs.filter((input) => input.startsWith("dev/"))).toEqual([]);
    expect(
      inputs.filter((input) => /node_modules\/(pino|sonic-boom|thread-stream)/.test(input)),
    ).toEqual([]);
    expect(inputs).toContain("functions/runtime/process/logger.ts");
  });

  it("imports no Node built-in: each is required, so Node never reads all of its exports", () => {
    const imported = Object.values(meta.outputs).flatMap((output) =>
      output.imports
        .filter((entry) => entry.external && entry.kind === "import-statement")
        .map((entry) => entry.path),
    );
    expect(imported).toEqual([]);
  });

  it("ships the /docs page's script and styles beside it", async () => {
    const dir = join(outRoot, name, "node_modules", "swagger-ui-dist");
    await expect(readFile(join(dir, "swagger-ui-bundle.js"), "utf8")).resolves.toContain(
      "SwaggerUIBundle",
    );
    await expect(readFile(join(dir, "swagger-ui.css"), "utf8")).resolves.toContain(".swagger-ui");
  });
});
