import { readFileSync, statSync } from "node:fs";

/**
 * The projected service-account token Antaeus presents to the provider. Kubernetes rotates it by
 * swapping the file, so the file is re-read whenever it changes, looked at no more than once a second.
 */
export class TokenFile {
  private token = "";
  private version = "";
  private checkedAt = -Infinity;

  constructor(private readonly path: string) {
    this.refresh();
  }

  current(): string {
    if (performance.now() - this.checkedAt >= 1_000) this.refresh();
    return this.token;
  }

  private refresh(): void {
    this.checkedAt = performance.now();
    const stat = statSync(this.path); // follows the symlink kubelet swaps
    const version = `${stat.ino}:${stat.mtimeMs}:${stat.size}`;
    if (version === this.version) return;
    this.token = readFileSync(this.path, "utf8").trim();
    this.version = version;
  }
}
