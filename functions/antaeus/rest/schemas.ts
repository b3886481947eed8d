// .openapi() on zod's schemas is added by @hono/zod-openapi as it loads.
import "@hono/zod-openapi";
import * as z from "zod";
import { CURRENCIES } from "../../kernel/money.js";
import { OPERATOR_ACTIONS } from "../data/audit-schema.js";
import { ATTEMPT_OUTCOMES } from "../domain/attempt.js";
import { EVENT_TYPES, type EventType } from "../domain/events.js";
import { REFUSAL_CODES } from "../domain/refusals.js";
import { LANE_STATES, RUN_STATUSES, RUN_TRIGGERS } from "../domain/run.js";
import { INVOICE_STATUSES, OUTCOMES } from "../domain/status.js";
import { errorContent } from "../errors.js";

/** What each route answers, declared for the OpenAPI document and checked by the contract test. */
export const InvoiceSchema = z
  .object({
    id: z.number().int(),
    customerId: z.number().int(),
    amount: z.object({
      /** The exact decimal, written as a JSON number with two places. */
      value: z.number(),
      currency: z.enum(CURRENCIES),
    }),
    status: z.enum(INVOICE_STATUSES),
  })
  .openapi("Invoice");

export const CustomerSchema = z
  .object({ id: z.number().int(), currency: z.enum(CURRENCIES) })
  .openapi("Customer");

export const RunSchema = z
  .object({
    id: z.number().int(),
    trigger: z.enum(RUN_TRIGGERS),
    status: z.enum(RUN_STATUSES),
    dueThrough: z.string(),
    startedAt: z.string(),
    finishedAt: z.string().nullable(),
    total: z.number().int(),
    done: z.number().int(),
    counts: z.object(Object.fromEntries(OUTCOMES.map((outcome) => [outcome, z.number().int()]))),
    /** Verdicts on scheduled retries, and how many of those were PAID. */
    retries: z.object({ done: z.number().int(), recovered: z.number().int() }),
    /** Set when the provider refused every charge, or most: a configuration problem, named. */
    refusal: z
      .object({
        code: z.enum(REFUSAL_CODES),
        refused: z.number().int(),
        answered: z.number().int(),
        message: z.string(),
      })
      .nullable(),
  })
  .openapi("BillingRun");

const LaneSchema = z
  .object({
    lane: z.number().int(),
    state: z.enum(LANE_STATES),
    /** The replica whose request works it: host name (on Kubernetes the pod) and process id. */
    worker: z.string().nullable(),
    invoices: z.number().int(),
    invoicesPerSecond: z.number(),
    callsPerSecond: z.number(),
    /** 429s the provider answered this lane. */
    throttled: z.number().int(),
    lastSeenAt: z.string(),
  })
  .openapi("BillingLane");

/** One run with its lanes and the provider's rate: GET /rest/v1/billing/runs/{id}. */
export const RunDetailSchema = RunSchema.extend({
  lanes: z.array(LaneSchema),
  provider: z.object({
    /** BILLING_PROVIDER_RATE_LIMIT; null when none is set. */
    limit: z.number().nullable(),
    /** Calls per second every lane together may make now (lower after a 429); null: no limit. */
    rate: z.number().nullable(),
    /** Calls per second the working lanes make, as each last reported. */
    callsPerSecond: z.number(),
    /** 429s over the run. */
    throttled: z.number().int(),
  }),
}).openapi("BillingRunDetail");

export const PayAnswerSchema = RunSchema.extend({ created: z.boolean() }).openapi("PayAnswer");

export const AttemptSchema = z
  .object({
    id: z.number().int(),
    invoiceId: z.number().int(),
    runId: z.number().int(),
    attemptNumber: z.number().int(),
    idempotencyKey: z.string().nullable(),
    outcome: z.enum(ATTEMPT_OUTCOMES),
    httpStatus: z.number().int().nullable(),
    latencyMs: z.number().int(),
    chargeId: z.string().nullable(),
    error: z.string().nullable(),
    attemptedAt: z.string(),
    worker: z.string().nullable(),
    /** 0: the invoice's charge; n: the n-th scheduled retry. */
    retry: z.number().int(),
    declineReason: z.string().nullable(),
  })
  .openapi("PaymentAttempt");

/** A row of the outbox: a CloudEvent's type, subject and data, and how its delivery stands. */
export const EventSchema = z
  .object({
    id: z.uuid(),
    type: z.enum(Object.values(EVENT_TYPES) as [EventType, ...EventType[]]),
    subject: z.string(),
    data: z.record(z.string(), z.unknown()),
    time: z.string(),
    deliveredAt: z.string().nullable(),
    failures: z.number().int(),
    nextAttemptAt: z.string(),
    lastError: z.string().nullable(),
  })
  .openapi("BillingEvent");

export const invalid = errorContent(
  "the request is not valid: the code and message name the problem",
);
export const notFoundContent = errorContent("not found");

/** With auth on (docs/production.md), any route but the probes may refuse its caller. */
export const refusals = {
  401: errorContent("no valid bearer token; the message says how to get one"),
  403: errorContent("the caller holds no role this route accepts"),
};

export const OperatorActionSchema = z
  .object({
    id: z.number().int(),
    action: z.enum(OPERATOR_ACTIONS),
    invoiceId: z.number().int().nullable(),
    runId: z.number().int().nullable(),
    /** The verified caller, or "anonymous" with auth off. */
    actor: z.string(),
    reason: z.string(),
    previousStatus: z.string().nullable(),
    invoicesUnqueued: z.number().int().nullable(),
    at: z.string(),
  })
  .openapi("OperatorAction");

export const ActionAnswerSchema = z
  .object({ performed: z.boolean(), action: OperatorActionSchema })
  .openapi("OperatorActionAnswer");

/** An operator action's body, for the document only: the route parses it (rest/operator-actions.ts). */
export const actionBodyDocument = {
  type: "object",
  required: ["reason"],
  additionalProperties: false,
  properties: { reason: { type: "string", minLength: 1, maxLength: 1000 } },
};
