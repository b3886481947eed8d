#!/usr/bin/env node
// Fills a V8 compile cache for a function's bundle, at image build time, so a cold start
// deserialises compiled code instead of parsing and compiling the bundle again. Node 22.1+ uses
// it when NODE_COMPILE_CACHE names the folder; a folder it cannot write to is still read.
//
// Node keys the cache by its own version, the V8 flags, the user id (a subfolder named like
// v24.21.0-x64-964aae3f-65532), each module's absolute path and its source hash: run this with
// the runtime image's Node, as its user, on the bundle where the image keeps it. Anything else
// is not an error, only a cache Node ignores.
//
// It runs the entry point with no configuration: the whole static module graph is compiled and
// its top level evaluated, then the function stops at "invalid configuration", before opening
// any connection. Files are then made readable by everyone and writable by no one.
//
// Usage: node scripts/compile-cache.mjs /app/payment.mjs /app/compile-cache
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export function fillCompileCache(entry, dir, node = process.execPath) {
  const run = spawnSync(node, [entry], {
    env: { NODE_ENV: "production", NODE_COMPILE_CACHE: dir },
    stdio: ["ignore", "ignore", "pipe"],
    encoding: "utf8",
  });
  if (!run.stderr.includes("invalid configuration")) {
    throw new Error(`${entry} did not stop at its configuration:\n${run.stderr}`);
  }
  const files = existsSync(dir) ? readOnly(dir) : 0;
  if (files === 0) throw new Error(`${node} wrote no compile cache into ${dir} (Node 22.1+ does)`);
  return files;
}

/** Files 0444, folders 0555, below and including `path`; returns how many files. */
function readOnly(path) {
  if (!statSync(path).isDirectory()) {
    chmodSync(path, 0o444);
    return 1;
  }
  let files = 0;
  for (const name of readdirSync(path)) files += readOnly(join(path, name));
  chmodSync(path, 0o555);
  return files;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [entry, dir] = process.argv.slice(2);
  if (!entry || !dir) {
    process.stderr.write("usage: node scripts/compile-cache.mjs <entry.mjs> <cache folder>\n");
    process.exit(2);
  }
  const files = fillCompileCache(entry, dir);
  process.stdout.write(`compile cache for ${entry}: ${files} files in ${dir}\n`);
}
