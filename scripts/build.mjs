#!/usr/bin/env node
// Bundles each function into ES modules, one per entry point, with what must ship beside them:
//
//   dist/<fn>/<fn>.mjs      the server (functions/<fn>/main.ts)
//   dist/<fn>/migrate.mjs   the one-off migrator (functions/<fn>/migrate.ts)
//   dist/<fn>/chunk-*.mjs   code both share, and what a dynamic import() loads when reached
//   dist/<fn>/migrations/   drizzle's SQL and journal
//
// The sources find their migrations with `new URL("./migrations", import.meta.url)` from
// functions/<fn>/data/database.ts. esbuild leaves `import.meta.url` as it is, so inside a bundle
// it names the bundle file: the folder must sit next to the .mjs files, which is where it goes.
//
// Usage: node scripts/build.mjs [antaeus] [payment]   (no names: both)
import { cp, mkdir, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const FUNCTIONS = ["antaeus", "payment"];

// Bundled CommonJS dependencies (pino, postgres's helpers) call require() for Node built-ins;
// an ES module has no require, so give the bundle one. Nothing else is injected.
const banner = [
  'import { createRequire as __createRequire } from "node:module";',
  "const require = __createRequire(import.meta.url);",
].join("\n");

export async function buildFunction(name, { outRoot = join(root, "dist") } = {}) {
  const source = join(root, "functions", name);
  const out = join(outRoot, name);
  await rm(out, { recursive: true, force: true });
  await mkdir(out, { recursive: true });
  const result = await build({
    entryPoints: [
      { in: join(source, "main.ts"), out: name },
      { in: join(source, "migrate.ts"), out: "migrate" },
    ],
    outdir: out,
    // The metafile's paths are relative to this, wherever the build is started from.
    absWorkingDir: root,
    outExtension: { ".js": ".mjs" },
    bundle: true,
    platform: "node",
    format: "esm",
    // The runtime images run Node 24; the floor is the project's engines field (Node 20.18).
    target: "node20.18",
    // Code splitting, so a dynamic import() becomes a chunk loaded when first reached (undici in
    // payment's key fetch) instead of code every cold start parses. Chunks sit beside the
    // entries (chunk-<hash>.mjs), so `import.meta.url`, and with it the migrations folder, is
    // the same in every file. Code both entries share also becomes a chunk.
    splitting: true,
    chunkNames: "chunk-[hash]",
    // Unminified identifiers keep stack traces in the logs readable without source maps;
    // whitespace and syntax minification still cut the file to about half.
    minifyWhitespace: true,
    minifySyntax: true,
    keepNames: true,
    legalComments: "none",
    banner: { js: banner },
    metafile: true,
    logLevel: "warning",
  });
  await cp(join(source, "data", "migrations"), join(out, "migrations"), { recursive: true });
  // What went into the bundle, for `npx esbuild --analyze`-style questions; not shipped.
  await writeFile(join(outRoot, `${name}.meta.json`), JSON.stringify(result.metafile));

  const files = Object.keys(result.metafile.outputs);
  let bytes = 0;
  for (const file of files) bytes += (await stat(join(root, file))).size;
  return { name, out: relative(root, out), files: files.length, bytes };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const names = process.argv.slice(2);
  for (const name of names) {
    if (!FUNCTIONS.includes(name)) {
      process.stderr.write(
        `build: unknown function "${name}"; expected ${FUNCTIONS.join(" or ")}\n`,
      );
      process.exit(2);
    }
  }
  for (const name of names.length > 0 ? names : FUNCTIONS) {
    const started = performance.now();
    const built = await buildFunction(name);
    const ms = Math.round(performance.now() - started);
    process.stdout.write(
      `built ${built.out}: ${built.files} files, ${(built.bytes / 1024).toFixed(0)} KiB of JS in ${ms} ms\n`,
    );
  }
}
