#!/usr/bin/env node
// Builds a function's V8 startup snapshot at image build time: Node runs the snapshot entry
// (dist/<fn>/<fn>.snapshot.cjs, see scripts/build.mjs), which loads every module of the function
// and opens nothing, and writes the heap it leaves into a blob. `node --snapshot-blob <blob>`
// then starts from that heap: no module is read, compiled or evaluated at a cold start.
//
// The blob holds the build's Node: only that exact Node version (and V8 flags) can start from it,
// so run this with the runtime image's Node. It also holds the script's path (import.meta.url):
// build it where the image keeps the script, beside its migrations. The blob is made read-only.
//
// Usage: node scripts/snapshot.mjs /app/payment.snapshot.cjs /app/payment.blob
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, rmSync } from "node:fs";
import { fileURLToPath } from "node:url";

export function buildSnapshot(entry, blob, node = process.execPath) {
  rmSync(blob, { force: true });
  const run = spawnSync(node, ["--snapshot-blob", blob, "--build-snapshot", entry], {
    env: { NODE_ENV: "production" },
    stdio: ["ignore", "ignore", "pipe"],
    encoding: "utf8",
  });
  if (run.status !== 0 || !existsSync(blob)) {
    throw new Error(
      `${node} built no snapshot of ${entry} (Node 22+ builds one; a module that opens a ` +
        `handle while loading aborts it, see scripts/build.mjs, deferUntilServed):\n${run.stderr}`,
    );
  }
  chmodSync(blob, 0o444);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [entry, blob] = process.argv.slice(2);
  if (!entry || !blob) {
    process.stderr.write("usage: node scripts/snapshot.mjs <entry.snapshot.cjs> <blob>\n");
    process.exit(2);
  }
  buildSnapshot(entry, blob);
  process.stdout.write(`startup snapshot of ${entry} in ${blob}\n`);
}
