// Types for scripts/build.mjs, which tests import to check the images' layout.
export interface BuiltFunction {
  name: string;
  /** The output folder, relative to the repository root. */
  out: string;
  files: number;
  bytes: number;
}

export function buildFunction(
  name: "antaeus" | "payment",
  options?: { outRoot?: string },
): Promise<BuiltFunction>;

/** The lines every bundle starts with: a require() for the CommonJS dependencies it holds. */
export const BUNDLE_BANNER: string;

/** The esbuild plugin that loads Node built-ins with require() instead of import. */
export const requireBuiltins: import("esbuild").Plugin;

/** The esbuild plugin that leaves out what prom-client loads but the functions never call. */
export const leaveOutUnused: import("esbuild").Plugin;

/** The esbuild plugin that gives @hono/zod-openapi a `z` of zod's ZodType alone. */
export const zodTypeOnly: import("esbuild").Plugin;
