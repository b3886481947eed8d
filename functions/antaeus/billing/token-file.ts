import { readFileSync, statSync } from "node:fs";

/**
 * The projected service-account token Antaeus presents to the provider. Kubernetes rotates it by
 * swapping the file, so the file is re-read whenever it changes, looked at no more than once a
 * second. Nothing reads it at start: the API serves without it (a first revision created by `kn`
 * has no token volume yet), and only a charge needs it.
 */
export class TokenFile {
  private token = "";
  private version = "";
  private failure: Error | undefined;
  private checkedAt = -Infinity;

  constructor(readonly path: string) {}

  /** The token; throws when the file cannot be read (or is empty), so no charge goes out without it. */
  current(): string {
    if (performance.now() - this.checkedAt >= 1_000) this.refresh();
    if (this.failure) throw this.failure;
    return this.token;
  }

  private refresh(): void {
    this.checkedAt = performance.now();
    try {
      const stat = statSync(this.path); // follows the symlink kubelet swaps
      const version = `${stat.ino}:${stat.mtimeMs}:${stat.size}`;
      if (version !== this.version) {
        this.token = readFileSync(this.path, "utf8").trim();
        this.version = version;
      }
      this.failure = this.token ? undefined : new Error(`${this.path} is empty`);
    } catch (error) {
      this.token = "";
      this.version = "";
      this.failure = error instanceof Error ? error : new Error(String(error));
    }
  }
}
