// Types for scripts/compile-cache.mjs, which the start-up benchmark imports.
/** Fills `dir` for `entry` with `node`'s compile cache and makes it read-only; returns files. */
export function fillCompileCache(entry: string, dir: string, node?: string): number;
