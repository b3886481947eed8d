/**
 * The runtime both functions run on, knative/func style: the function is its routes and core,
 * this is what serves them. Import it from here only.
 *
 * web/: the HTTP half a Hono app is built from (the shared shell and probes, JSON errors and
 * their closed codes, body caps, streamed arrays, request metrics, and web/auth/: bearer tokens
 * verified against an issuer's keys (its name configured or read from the API server), an accepted token remembered until it expires, with their
 * 401 and 403).
 */

/**
 * process/: the life of the process around it (config from the environment, JSON logs, the
 * database connection and locked migrations, embedded PostgreSQL, the Node server, SIGTERM
 * drain, /metrics alone on a port of its own) and the one-off migrate command.
 */
export * from "./process/config.js";
export * from "./process/database.js";
export * from "./process/embedded-postgres.js";
export * from "./process/logger.js";
export * from "./process/metrics-port.js";
export * from "./process/migrate-command.js";
export * from "./process/server.js";
export * from "./process/service.js";
export * from "./web/auth/bearer.js";
export * from "./web/auth/cluster-issuer.js";
export * from "./web/auth/jwks.js";
export * from "./web/auth/token.js";
export * from "./web/auth/trusted-issuer.js";
export * from "./web/auth/verdict-cache.js";
export * from "./web/errors.js";
export * from "./web/http.js";
export * from "./web/json-body.js";
export * from "./web/json-stream.js";
export * from "./web/metrics.js";
export * from "./web/openapi.js";
