import { sql } from "drizzle-orm";
import {
  bigint,
  bigserial,
  check,
  date,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  real,
  serial,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from "drizzle-orm/pg-core";
import { CURRENCIES, type Currency } from "../../kernel/money.js";
import type { AttemptOutcome } from "../domain/attempt.js";
import {
  RUN_STATUSES,
  RUN_TRIGGERS,
  RUNNING,
  type RunStatus,
  type RunTrigger,
} from "../domain/run.js";
import {
  INVOICE_STATUSES,
  type InvoiceStatus,
  OUTCOME_COUNTERS,
  OUTCOMES,
  type Outcome,
} from "../domain/status.js";

const oneOf = (column: string, values: readonly string[]) =>
  sql.raw(`${column} in (${values.map((value) => `'${value}'`).join(", ")})`);

export const customers = pgTable(
  "customers",
  {
    id: serial().primaryKey(),
    currency: text().$type<Currency>().notNull(),
  },
  () => [check("customers_currency_check", oneOf("currency", CURRENCIES))],
);

// No foreign key to customers on purpose: invoices can be imported ahead of (or without) their
// customer, and billing reports that as CUSTOMER_NOT_FOUND instead of refusing the row.
export const invoices = pgTable(
  "invoices",
  {
    id: serial().primaryKey(),
    customerId: integer("customer_id").notNull(),
    currency: text().$type<Currency>().notNull(),
    amountMinor: bigint("amount_minor", { mode: "bigint" }).notNull(),
    status: text().$type<InvoiceStatus>().notNull().default("PENDING"),
    /** First day of the month this invoice bills. */
    period: date({ mode: "string" }).notNull(),
    /** The billing run whose work list holds this invoice; cleared when the run is done with it. */
    runId: integer("run_id"),
    /** While PROCESSING: after this instant another worker may take the invoice over. */
    leaseExpiresAt: timestamp("lease_expires_at", { withTimezone: true }),
    /**
     * Idempotency-Key of the charge attempt whose outcome is not yet known. Reused for every
     * retry, cleared only by a definitive answer, so the provider can never charge it twice.
     */
    attemptKey: uuid("attempt_key"),
    /** Calls made to the provider for this invoice, over all runs. */
    attempts: integer().notNull().default(0),
    /** Soft declines in the current dunning cycle: the next attempt is retry number `declines`. */
    declines: integer().notNull().default(0),
    /** The cycle's first decline; the retry schedule is measured from it. */
    dunningSince: timestamp("dunning_since", { withTimezone: true }),
    /** When the next scheduled retry is due; null when none is. */
    nextRetryAt: timestamp("next_retry_at", { withTimezone: true }),
  },
  (table) => [
    check("invoices_currency_check", oneOf("currency", CURRENCIES)),
    check("invoices_status_check", oneOf("status", INVOICE_STATUSES)),
    check("invoices_amount_positive", sql`${table.amountMinor} > 0`),
    check("invoices_period_first_of_month", sql`extract(day from ${table.period}) = 1`),
    index("invoices_customer_id_idx").on(table.customerId),
    index("invoices_status_idx").on(table.status),
    index("invoices_next_retry_idx")
      .on(table.nextRetryAt)
      .where(sql`${table.nextRetryAt} is not null`),
    index("invoices_run_queue_idx")
      .on(table.runId, table.id)
      .where(sql`${table.runId} is not null`),
  ],
);

const counter = (outcome: Outcome) => integer(OUTCOME_COUNTERS[outcome]).notNull().default(0);
/** One counter column per outcome, named by the outcome table; keyed by the outcome itself. */
const outcomeCounters = Object.fromEntries(
  OUTCOMES.map((outcome) => [outcome, counter(outcome)]),
) as { [O in Outcome]: ReturnType<typeof counter> };

export const billingRuns = pgTable(
  "billing_runs",
  {
    id: serial().primaryKey(),
    trigger: text().$type<RunTrigger>().notNull(),
    status: text().$type<RunStatus>().notNull().default(RUNNING),
    /** The newest period this run charges; older unpaid periods are caught up too. */
    dueThrough: date("due_through", { mode: "string" }).notNull(),
    startedAt: timestamp("started_at", { withTimezone: true }).notNull().defaultNow(),
    finishedAt: timestamp("finished_at", { withTimezone: true }),
    total: integer().notNull().default(0),
    ...outcomeCounters,
    /** Verdicts on scheduled retries (attempts with retry > 0), and how many of those were PAID. */
    retries: integer().notNull().default(0),
    recovered: integer().notNull().default(0),
  },
  (table) => [
    check("billing_runs_status_check", oneOf("status", RUN_STATUSES)),
    check("billing_runs_trigger_check", oneOf("trigger", RUN_TRIGGERS)),
    // At most one run at a time: a second pay call joins it instead of racing it.
    uniqueIndex("billing_runs_one_running")
      .on(sql`(true)`)
      .where(sql`${table.status} = ${sql.raw(`'${RUNNING}'`)}`),
  ],
);

/**
 * A run's lanes (docs/billing.md, "Lanes"): slot `lane` of a run is worked by one request chain
 * at a time, the one whose `holder` it carries; starting a lane anew (its chain broke, or it hands
 * on) gives the slot a new holder, and a request holding an old one stops. `heartbeatAt` moves with
 * every claim, and the rest says what the lane did, for the run's page.
 */
export const billingLanes = pgTable(
  "billing_lanes",
  {
    runId: integer("run_id")
      .notNull()
      .references(() => billingRuns.id),
    lane: integer().notNull(),
    /** The request chain that works this slot now; null once the lane has ended. */
    holder: uuid(),
    /** The replica whose request holds it (host name and process id); null until one arrives. */
    worker: text(),
    startedAt: timestamp("started_at", { withTimezone: true }).notNull().defaultNow(),
    heartbeatAt: timestamp("heartbeat_at", { withTimezone: true }).notNull().defaultNow(),
    /** Invoices this lane settled (verdicts reached), over every request of its chain. */
    invoices: integer().notNull().default(0),
    /** What the holder reported at its last claim: invoices settled and provider calls, per second. */
    invoicesPerSecond: real("invoices_per_second").notNull().default(0),
    callsPerSecond: real("calls_per_second").notNull().default(0),
    /** 429s the provider answered this lane. */
    throttled: integer().notNull().default(0),
  },
  (table) => [primaryKey({ columns: [table.runId, table.lane] })],
);

/**
 * The provider's rate, shared by every lane and replica (billing/provider-rate.ts): one row. AIMD's
 * state (the rate the last 429 set, and when), the pause a Retry-After asked every lane for, and
 * `shares`: by holder, the calls per second it was granted, the instant (Unix ms) that lapses, and
 * what it asked for. A lane's claim takes its share in the same statement, under this row's lock,
 * so shares never add up to more than the rate.
 */
export const providerRate = pgTable(
  "provider_rate",
  {
    id: integer().primaryKey(),
    rate: real(),
    decreasedAt: timestamp("decreased_at", { withTimezone: true }),
    pausedUntil: timestamp("paused_until", { withTimezone: true }),
    shares: jsonb().$type<Record<string, [number, number, number]>>().notNull().default({}),
  },
  () => [check("provider_rate_one_row", sql`id = 1`)],
);

/** Every trigger a run answered, so a redelivered CloudEvent finds its run instead of starting one. */
export const billingTriggers = pgTable(
  "billing_triggers",
  {
    source: text().notNull(),
    eventId: text("event_id").notNull(),
    eventTime: timestamp("event_time", { withTimezone: true }),
    runId: integer("run_id")
      .notNull()
      .references(() => billingRuns.id),
    receivedAt: timestamp("received_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [uniqueIndex("billing_triggers_event").on(table.source, table.eventId)],
);

/** One row per call to the provider (or per verdict reached without one): the audit trail. */
export const paymentAttempts = pgTable(
  "payment_attempts",
  {
    id: bigserial({ mode: "number" }).primaryKey(),
    invoiceId: integer("invoice_id").notNull(),
    runId: integer("run_id")
      .notNull()
      .references(() => billingRuns.id),
    attemptNumber: integer("attempt_number").notNull(),
    idempotencyKey: uuid("idempotency_key"),
    outcome: text().$type<AttemptOutcome>().notNull(),
    httpStatus: integer("http_status"),
    latencyMs: integer("latency_ms").notNull(),
    chargeId: text("charge_id"),
    error: text(),
    /** When the call began (verdicts are written in batches, later). */
    attemptedAt: timestamp("attempted_at", { withTimezone: true }).notNull(),
    /** The replica that made it: host name (on Kubernetes, the pod's name) and process id. */
    worker: text(),
    /** 0: the invoice's charge; n: the n-th scheduled retry after a soft decline. */
    retry: integer().notNull().default(0),
    /** The provider's reason for a decline; null otherwise, or when it gave none. */
    declineReason: text("decline_reason"),
  },
  (table) => [index("payment_attempts_invoice_idx").on(table.invoiceId, table.attemptNumber)],
);

/**
 * The outbox: CloudEvents written in the transaction of the verdict (or the run's completion)
 * they report, and delivered at least once to K_SINK by a relay inside a request. A row is marked
 * delivered only after the sink answered 2xx; its `id` is the CloudEvent id on every delivery.
 */
export const billingEvents = pgTable(
  "billing_events",
  {
    id: uuid().primaryKey().defaultRandom(),
    type: text().notNull(),
    /** `invoices/<id>` or `runs/<id>`. */
    subject: text().notNull(),
    data: jsonb().notNull(),
    time: timestamp({ withTimezone: true }).notNull().defaultNow(),
    deliveredAt: timestamp("delivered_at", { withTimezone: true }),
    /** Deliveries tried and failed so far; the next waits until nextAttemptAt. */
    failures: integer().notNull().default(0),
    nextAttemptAt: timestamp("next_attempt_at", { withTimezone: true }).notNull().defaultNow(),
    lastError: text("last_error"),
  },
  (table) => [
    index("billing_events_undelivered_idx")
      .on(table.nextAttemptAt)
      .where(sql`${table.deliveredAt} is null`),
  ],
);
// Operator actions (requeue, cancel) and who did them: their own file, one table.
export * from "./audit-schema.js";
