/**
 * Thrown when the environment (its variables, or the files and permissions it gives) cannot run
 * the service; the message names what to change.
 */
export class ConfigError extends Error {
  override name = "ConfigError";
}
