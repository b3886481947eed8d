/**
 * The runtime both functions run on, knative/func style: the function is its routes and core,
 * this is what serves them. Import it from here only; it names what the functions use.
 */

// The life of the process around an app: config from the environment, the database connection
// and locked migrations, the Node server and its SIGTERM drain, /metrics alone on a port of its
// own, and the one-off migrate command.
export { ConfigError } from "./config-error.js";
export type { Logger } from "./logger.js";
export {
  boolean,
  integer,
  parseConfig,
  parsedWith,
  probability,
  type ServiceConfig,
  serviceConfig,
  serviceEnv,
  url,
} from "./process/config.js";
export { checkSchemaCurrent, type Migrations, type Sql } from "./process/database.js";
export { serveMetricsAlone } from "./process/metrics-port.js";
export { migrateCommand } from "./process/migrate-command.js";
export { runService, type ServiceDefinition } from "./process/service.js";
export { serveFromSnapshot } from "./process/snapshot.js";

// The HTTP half an app is built from: the shared shell and probes, routes declared once, JSON
// errors with the runtime's codes and the function's own, body caps, streamed arrays, request
// metrics, and bearer tokens verified against an issuer's keys (its name configured or read from
// the pod's API server; an accepted one remembered until it expires), with their 401 and 403.
export type { AppEnv } from "./web/app-env.js";
export { bearerToken, requireCaller, verifiedCaller } from "./web/auth/bearer.js";
export {
  type ApiServer,
  describeIssuer,
  type IssuerName,
  inClusterApiServer,
  KEYS_PATH,
} from "./web/auth/cluster-issuer.js";
export {
  CallerRefused,
  type Challenge,
  forbidden,
  unauthenticated,
} from "./web/auth/token.js";
export { trustedIssuer } from "./web/auth/trusted-issuer.js";
export { errorCodes } from "./web/error-codes.js";
export { ApiError } from "./web/errors.js";
export { createApp, type ReadinessChecks } from "./web/http.js";
export { readJson, readText } from "./web/json-body.js";
export { jsonArrayResponse } from "./web/json-stream.js";
export { createHttpMetrics, type HttpMetrics, serveMetrics } from "./web/metrics.js";
export {
  type ApiSecurity,
  bearerJwtScheme,
  type DocumentInfo,
  declare,
  jsonContent,
  openApiDocument,
  type Router,
  serveDocs,
  textContent,
} from "./web/openapi.js";
