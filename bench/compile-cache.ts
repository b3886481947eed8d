// Fills a V8 compile cache for a function's bundle, the way the images filled theirs before they
// started from a startup snapshot, so that bench:startup can set the two side by side. Node 22.1+
// uses the cache when NODE_COMPILE_CACHE names the folder, keyed by its own version, the V8 flags,
// the user id, each module's absolute path and its source hash.
//
// It runs the entry point with no configuration: the whole static module graph is compiled and
// its top level evaluated, then the function stops at "invalid configuration", before opening
// any connection. Files are then made readable by everyone and writable by no one, as an image
// would ship them.
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

/** Fills `dir` for `entry` with `node`'s compile cache and makes it read-only; returns files. */
export function fillCompileCache(entry: string, dir: string, node = process.execPath): number {
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
function readOnly(path: string): number {
  if (!statSync(path).isDirectory()) {
    chmodSync(path, 0o444);
    return 1;
  }
  let files = 0;
  for (const name of readdirSync(path)) files += readOnly(join(path, name));
  chmodSync(path, 0o555);
  return files;
}
