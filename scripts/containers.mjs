#!/usr/bin/env node
// Builds, pushes and measures the two function images with whichever container engine is here.
//
//   node scripts/containers.mjs build [antaeus|payment]   build (both by default)
//   node scripts/containers.mjs push  [antaeus|payment]   push what build tagged
//   node scripts/containers.mjs sizes [antaeus|payment]   app-layer size of each image
//
// Environment:
//   CONTAINER_ENGINE        podman or docker (a path works too); else the first that answers
//   REGISTRY                image prefix, default "localhost" (local only; set yours to push)
//   TAG                     image tag, default "dev"
//   CONTAINER_BUILD_FLAGS   extra build flags, e.g. "--pull=never --network host" offline
import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
export const FUNCTIONS = ["antaeus", "payment"];

/** The image a Dockerfile builds: its repository is the function's name (the image title). */
export function imageName(name, { registry = process.env.REGISTRY, tag = process.env.TAG } = {}) {
  return `${registry || "localhost"}/${name}:${tag || "dev"}`;
}

let detected;
/** CONTAINER_ENGINE when set, else podman or docker, whichever answers `version`. */
export function containerEngine() {
  if (detected) return detected;
  const candidates = process.env.CONTAINER_ENGINE
    ? [process.env.CONTAINER_ENGINE]
    : ["podman", "docker"];
  for (const candidate of candidates) {
    const probe = spawnSync(candidate, ["version"], { stdio: "ignore", timeout: 30_000 });
    if (probe.status === 0) {
      detected = {
        command: candidate,
        kind: basename(candidate).includes("podman") ? "podman" : "docker",
      };
      return detected;
    }
  }
  throw new Error(
    `no container engine answers (tried ${candidates.join(", ")}); install podman or docker, or set CONTAINER_ENGINE`,
  );
}

function run(args) {
  const engine = containerEngine();
  const result = spawnSync(engine.command, args, { cwd: ROOT, stdio: "inherit" });
  if (result.status !== 0) {
    throw new Error(`${engine.command} ${args.join(" ")} failed (exit ${result.status})`);
  }
}

export function engineOutput(args) {
  return execFileSync(containerEngine().command, args, { cwd: ROOT, encoding: "utf8" }).trim();
}

export function buildImage(name, options = {}) {
  const flags = (process.env.CONTAINER_BUILD_FLAGS ?? "").split(/\s+/).filter(Boolean);
  const image = imageName(name, options);
  run(["build", ...flags, "-f", `Dockerfile.${name}`, "-t", image, "."]);
  return image;
}

/** The runtime stage's base, read from the Dockerfile's last FROM. */
export function baseImageOf(name) {
  const text = readFileSync(join(ROOT, `Dockerfile.${name}`), "utf8");
  const froms = [...text.matchAll(/^FROM\s+(\S+)/gm)].map((m) => m[1]);
  return froms.at(-1);
}

/**
 * What the project adds to its base image, in bytes: the bundle and the migrations. Totals are
 * mostly the base (Node and glibc), which the project does not choose byte by byte.
 */
export function appLayerBytes(name, options = {}) {
  const size = (image) =>
    Number(engineOutput(["image", "inspect", "--format", "{{.Size}}", image]));
  return size(imageName(name, options)) - size(baseImageOf(name));
}

function main(argv) {
  const [command, ...names] = argv;
  for (const name of names) {
    if (!FUNCTIONS.includes(name)) throw new Error(`unknown function "${name}"`);
  }
  const selected = names.length > 0 ? names : FUNCTIONS;
  switch (command) {
    case "build":
      for (const name of selected) console.log(`built ${buildImage(name)}`);
      break;
    case "push":
      for (const name of selected) run(["push", imageName(name)]);
      break;
    case "sizes":
      for (const name of selected) {
        const kib = appLayerBytes(name) / 1024;
        console.log(
          `${imageName(name)}: app layer ${kib.toFixed(0)} KiB over ${baseImageOf(name)}`,
        );
      }
      break;
    default:
      console.error("usage: node scripts/containers.mjs build|push|sizes [antaeus|payment]");
      process.exit(2);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  try {
    main(process.argv.slice(2));
  } catch (error) {
    console.error(`containers: ${error instanceof Error ? error.message : error}`);
    process.exit(1);
  }
}
