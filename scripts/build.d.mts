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
