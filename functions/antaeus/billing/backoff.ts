import { MAX_BACKOFF_MS, MAX_RETRY_AFTER_MS } from "./settings.js";

/**
 * Exponential backoff with full jitter, never shorter than what the provider asked for (capped).
 * `random` is Math.random outside tests.
 */
export function backoff(
  retry: number,
  retryAfterMs: number | undefined,
  random: () => number = Math.random,
): number {
  const jittered = random() * Math.min(MAX_BACKOFF_MS, 100 * 2 ** retry);
  return Math.max(jittered, Math.min(retryAfterMs ?? 0, MAX_RETRY_AFTER_MS));
}
