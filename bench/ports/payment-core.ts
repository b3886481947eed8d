// Payment below its HTTP layer, for the Fastify and Express ports (bench/ports/*.ts): the same
// configuration, log, pool and migrations, token verification, charge service and ledger, and
// request metrics as functions/payment. A port adds only what its framework does: routing, body
// parsing, the answer. So "payment against the Fastify port" compares HTTP layers, nothing else.
// The ports serve what the benches call: /healthz, /readyz, /metrics and POST /v1/charges.

import { CHALLENGE, callerAuth } from "../../functions/payment/auth/caller-auth.js";
import { chargeService } from "../../functions/payment/charges/charge-service.js";
import { parseIdempotencyKey } from "../../functions/payment/charges/idempotency-key.js";
import { chargeJson } from "../../functions/payment/charges/json.js";
import { chargeCounter } from "../../functions/payment/charges/metrics.js";
import { createRandomness } from "../../functions/payment/charges/randomness.js";
import { parseChargeRequest } from "../../functions/payment/charges/request.js";
import { loadPaymentConfig } from "../../functions/payment/config.js";
import { createDb, migrations } from "../../functions/payment/data/database.js";
import {
  ApiError,
  CallerRefused,
  checkSchemaCurrent,
  createHttpMetrics,
  unauthenticated,
} from "../../functions/runtime/index.js";
import { requireDatabaseUrl } from "../../functions/runtime/process/config.js";
import { connect, migrateIfBehind } from "../../functions/runtime/process/database.js";
import { createLogger } from "../../functions/runtime/process/logger.js";

const BEARER = /^Bearer +([\w.~+/-]+=*)$/i;

/** An answer a port sends as it is: status, JSON body, headers. */
export interface Answer {
  status: number;
  body: unknown;
  headers: Record<string, string>;
}

export async function paymentCore() {
  const config = loadPaymentConfig();
  const logger = createLogger("payment", config.logLevel, config.revision);
  const url = requireDatabaseUrl(config);
  const sql = await connect(url, { max: config.databasePoolMax, logger });
  if (config.migrateOnStart) await migrateIfBehind(sql, url, migrations, logger);
  const db = createDb(sql);
  const metrics = createHttpMetrics();
  const count = chargeCounter(metrics.registry);
  const charge = chargeService({
    db,
    randomness: createRandomness(config.seed),
    successRate: config.successRate,
    declineMix: config.declineMix,
  });
  // Payment's own verifier: the same issuer, keys, verdict cache and subject rule as its
  // middleware.
  const auth = callerAuth(config.auth, logger);
  const { verify } = auth;

  return {
    config,
    logger,
    metrics,
    /** Payment's /readyz: the ledger's schema is current, and tokens can be verified. */
    ready: () =>
      Promise.all([
        checkSchemaCurrent(sql, migrations),
        ...Object.values(auth.readiness).map((check) => check()),
      ]),
    /** The caller's subject, or undefined with auth off; throws CallerRefused (401/403). */
    async authenticate(authorization: string | undefined): Promise<string | undefined> {
      if (!verify) return undefined;
      const token = BEARER.exec(authorization ?? "")?.[1];
      if (!token) throw unauthenticated(CHALLENGE, "no bearer token");
      return (await verify(token)).subject;
    },
    /** POST /v1/charges on a parsed body; the fields for the request's one log line. */
    async charge(body: unknown, keyHeader: string | undefined) {
      const key =
        keyHeader === undefined ? null : parseIdempotencyKey(keyHeader, "Idempotency-Key");
      const request = parseChargeRequest(body);
      const { charge: answered, replayed } = await charge(request, key);
      count(replayed ? "replayed" : answered.status);
      const answer: Answer = {
        status: 200,
        body: chargeJson(answered),
        headers: replayed ? { "Idempotent-Replayed": "true" } : {},
      };
      return {
        answer,
        logFields: {
          idempotencyKey: key,
          invoiceId: request.invoiceId,
          customerId: answered.customerId,
          chargeId: answered.id,
          charge: answered.status,
          replayed,
        },
      };
    },
    /** What an error becomes: ours as we word them, anything else a logged 500. */
    failure(error: unknown): Answer {
      if (error instanceof ApiError) {
        const reason = error instanceof CallerRefused ? { reason: error.reason } : {};
        if (error instanceof CallerRefused)
          logger.warn({ status: error.status, ...reason }, "caller refused");
        return {
          status: error.status,
          body: { error: { code: error.code, message: error.message } },
          headers: error.headers,
        };
      }
      logger.error({ err: error }, "unhandled error");
      return {
        status: 500,
        body: { error: { code: "internal_error", message: "internal error" } },
        headers: {},
      };
    },
    close: () => sql.end({ timeout: 5 }),
  };
}
