// Types for scripts/snapshot.mjs, which the start-up benchmark and the snapshot test import.
/** Builds `entry`'s startup snapshot into `blob` with `node` (22+) and makes it read-only. */
export function buildSnapshot(entry: string, blob: string, node?: string): void;
