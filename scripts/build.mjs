#!/usr/bin/env node
// Bundles each function into ES modules, one per entry point, with what must ship beside them:
//
//   dist/<fn>/<fn>.mjs      the server (functions/<fn>/main.ts)
//   dist/<fn>/migrate.mjs   the one-off migrator (functions/<fn>/migrate.ts)
//   dist/<fn>/chunk-*.mjs   code both share, and what a dynamic import() loads when reached
//   dist/<fn>/<fn>.snapshot.cjs  the same server as one CommonJS script, the entry a V8 startup
//                           snapshot is built from (functions/<fn>/snapshot.ts, scripts/snapshot.mjs)
//   dist/<fn>/migrations/   drizzle's SQL and journal
//   dist/<fn>/node_modules/swagger-ui-dist/   the /docs page's script and styles, read on the
//                           first request for them (functions/runtime/web/api-docs.ts)
//
// The sources find their migrations with `new URL("./migrations", import.meta.url)` from
// functions/<fn>/data/database.ts. esbuild leaves `import.meta.url` as it is, so inside a bundle
// it names the bundle file: the folder must sit next to the .mjs files, which is where it goes.
//
// Usage: node scripts/build.mjs [antaeus] [payment]   (no names: both)
import { cp, mkdir, rm, stat, writeFile } from "node:fs/promises";
import { createRequire, isBuiltin } from "node:module";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const FUNCTIONS = ["antaeus", "payment"];
/** Where api-docs.ts resolves swagger-ui-dist from beside the bundle, and what it reads there. */
const DOCS_DIR = join("node_modules", "swagger-ui-dist");
const DOCS_FILES = ["package.json", "LICENSE", "swagger-ui-bundle.js", "swagger-ui.css"];

// Bundled CommonJS dependencies (postgres's helpers, prom-client) call require() for Node
// built-ins; an ES module has no require, so give the bundle one (taken without an import, see
// requireBuiltins). Nothing else is injected.
export const BUNDLE_BANNER =
  'const require = process.getBuiltinModule("node:module").createRequire(import.meta.url);';

/**
 * Node built-ins loaded with require(), never with `import`. An ES module that imports a built-in
 * gets a module namespace of it, which reads every export once: on Node 22.5+ reading node:http's
 * WebSocket, CloseEvent and MessageEvent loads Node's own undici, about 40 ms of CPU at every cold
 * start on Node 24 (and the floor pays it). Required, a built-in is the plain object, read only
 * where the code uses it. So each `import … from "node:x"` in the bundle reads a one-line module
 * that requires it.
 */
export const requireBuiltins = {
  name: "require-builtins",
  setup(build) {
    build.onResolve({ filter: /^[a-z_:/0-9]+$/ }, (args) =>
      args.kind === "import-statement" && isBuiltin(args.path)
        ? { path: args.path, namespace: "builtin" }
        : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: "builtin" }, (args) => ({
      contents: `module.exports = require(${JSON.stringify(args.path)});`,
      loader: "js",
    }));
  },
};

/**
 * What a dependency requires when it loads but the functions never call, left out of the bundle:
 * prom-client's Pushgateway (node:http, https, zlib), cluster aggregation (node:cluster), Summary
 * (tdigest), and @opentelemetry/api, read only for exemplars, which are off. Each becomes a
 * stand-in that throws, naming itself, if it is ever used.
 */
export const leaveOutUnused = {
  name: "leave-out-unused",
  setup(build) {
    const unused = [
      [/[\\/]prom-client[\\/]index\.js$/, /^\.\/lib\/(pushgateway|cluster|summary)$/],
      [/[\\/]prom-client[\\/]lib[\\/]/, /^@opentelemetry\/api$/],
    ];
    build.onResolve({ filter: /^(\.\/lib\/|@opentelemetry\/api$)/ }, (args) =>
      unused.some(([importer, path]) => importer.test(args.importer) && path.test(args.path))
        ? { path: `${args.path} (from ${relative(root, args.importer)})`, namespace: "unused" }
        : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: "unused" }, (args) => ({
      contents: `const fail = () => { throw new Error(${JSON.stringify(`${args.path} is left out of the bundle (scripts/build.mjs, leaveOutUnused)`)}); };
module.exports = new Proxy(fail, { get: fail, apply: fail, construct: fail });`,
      loader: "js",
    }));
  },
};

/**
 * @hono/zod-openapi imports zod's `z` to add `.openapi()` to its ZodType, which keeps the whole of
 * zod (594 kB) in the start chunk: every cold start would read it. The functions declare their
 * schemas with zod imported as a namespace (functions/runtime/web/zod.ts), which esbuild
 * tree-shakes; so @hono/zod-openapi gets a `z` holding only the ZodType it extends. Anything else
 * read from that `z` throws, naming this plugin.
 */
export const zodTypeOnly = {
  name: "zod-type-only",
  setup(build) {
    build.onResolve({ filter: /^zod$/ }, (args) =>
      /[\\/]@hono[\\/]zod-openapi[\\/]/.test(args.importer)
        ? { path: "zod (ZodType only)", namespace: "zod-type-only" }
        : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: "zod-type-only" }, () => ({
      contents: `import { ZodType } from "zod";
export const z = new Proxy({ ZodType }, {
  get(target, name) {
    if (name in target) return target[name];
    throw new Error(\`z.\${String(name)}: @hono/zod-openapi's z holds only ZodType in the bundle (scripts/build.mjs, zodTypeOnly)\`);
  },
});`,
      resolveDir: root,
      loader: "js",
    }));
  },
};

/**
 * What the snapshot entry loads only when first used, after the snapshot is restored: a startup
 * snapshot cannot hold what these set up when loaded. node:http, https, http2 and tls make native
 * handles (`node --build-snapshot` aborts: "CheckGlobalAndEternalHandles failed"), and so does
 * reading fetch's Request, Response or Headers, which @hono/node-server does at its top level.
 * prom-client's process_start_time_seconds reads the clock at its top level: in the snapshot it
 * would be the time the image was built.
 */
const DEFERRED = [
  [/^(node:)?(http|https|http2|tls)$/],
  [/^@hono\/node-server$/],
  [/^\.\/metrics\/processStartTime$/, /[\\/]prom-client[\\/]lib[\\/]defaultMetrics\.js$/],
];
const isDeferred = ({ path, importer }) =>
  DEFERRED.some(([specifier, from]) => specifier.test(path) && (!from || from.test(importer)));

/**
 * Each import of a DEFERRED module becomes a stand-in with the module's export names (read here,
 * at build time) as getters that load the module on first read. A module that exports a function
 * gets a stand-in that is one, calling through. Bundled packages are bundled as usual, under the
 * stand-in; built-ins stay require()s.
 */
const deferUntilServed = {
  name: "defer-until-served",
  setup(build) {
    build.onResolve({ filter: /^[@a-z_:/0-9.A-Z-]+$/ }, (args) => {
      if (args.namespace === "deferred") {
        return isBuiltin(args.path) ? { path: args.path, external: true } : undefined;
      }
      if (!isDeferred(args)) return undefined;
      const path = isBuiltin(args.path)
        ? args.path
        : createRequire(args.importer).resolve(args.path);
      return { path, namespace: "deferred" };
    });
    build.onLoad({ filter: /.*/, namespace: "deferred" }, (args) => {
      const loaded = isBuiltin(args.path)
        ? process.getBuiltinModule(args.path)
        : createRequire(args.path)(args.path);
      const callable = typeof loaded === "function";
      const names = Object.keys(loaded).filter((key) => key !== "default" && key !== "__esModule");
      const specifier = isBuiltin(args.path)
        ? args.path
        : `./${relative(dirname(args.path), args.path)}`;
      return {
        contents: `let loaded;
const load = () => (loaded ??= require(${JSON.stringify(specifier)}));
module.exports = ${callable ? "function (...args) { return new.target ? Reflect.construct(load(), args, new.target) : load().apply(this, args); }" : "{}"};
for (const name of ${JSON.stringify(names)}) {
  Object.defineProperty(module.exports, name, { enumerable: true, get: () => load()[name] });
}`,
        resolveDir: dirname(args.path),
        loader: "js",
      };
    });
  },
};

/**
 * Builds the snapshot entry: functions/<fn>/snapshot.ts as one CommonJS script, the only form
 * `node --build-snapshot` runs (its require() gives built-ins only). `import.meta.url` names the
 * script, so the migrations folder and swagger-ui-dist are found beside it as in the ES bundle.
 */
async function buildSnapshotEntry(name, source, out) {
  return build({
    entryPoints: [join(source, "snapshot.ts")],
    outfile: join(out, `${name}.snapshot.cjs`),
    absWorkingDir: root,
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node22",
    minifyWhitespace: true,
    minifySyntax: true,
    legalComments: "none",
    define: { "import.meta.url": "__bundle_url" },
    banner: { js: 'const __bundle_url = require("node:url").pathToFileURL(__filename).href;' },
    plugins: [deferUntilServed, leaveOutUnused, zodTypeOnly],
    metafile: true,
    logLevel: "warning",
  });
}

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
    // whitespace and syntax minification still cut the file to about half. No keepNames: with
    // identifiers kept it only guards names esbuild changes to avoid a clash, and it wraps every
    // function made at run time (each request's closures) in a call that sets its name, about
    // 6% of a charge's CPU time in a profile of bench:charges.
    minifyWhitespace: true,
    minifySyntax: true,
    legalComments: "none",
    banner: { js: BUNDLE_BANNER },
    plugins: [requireBuiltins, leaveOutUnused, zodTypeOnly],
    metafile: true,
    logLevel: "warning",
  });
  const snapshotEntry = await buildSnapshotEntry(name, source, out);
  await cp(join(source, "data", "migrations"), join(out, "migrations"), { recursive: true });
  for (const file of DOCS_FILES) {
    await cp(join(root, "node_modules", "swagger-ui-dist", file), join(out, DOCS_DIR, file));
  }
  // What went into the bundle, for `npx esbuild --analyze`-style questions; not shipped.
  await writeFile(join(outRoot, `${name}.meta.json`), JSON.stringify(result.metafile));

  const files = [
    ...Object.keys(result.metafile.outputs),
    ...Object.keys(snapshotEntry.metafile.outputs),
  ];
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
