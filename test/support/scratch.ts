import { mkdtempSync } from "node:fs";
import { join } from "node:path";
import { inject } from "vitest";

/**
 * A fresh folder for a test's own files (a clock, an auth config), inside the run's folder that
 * its teardown removes (test/support/global-setup.ts): nothing is left behind whether or not
 * the test cleans up after itself.
 */
export function scratchDir(prefix: string): string {
  return mkdtempSync(join(inject("scratchRoot"), `${prefix}-`));
}
