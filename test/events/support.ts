import { readFileSync } from "node:fs";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import type { System } from "../support/system.js";

const SCHEMAS = {
  "dev.antaeus.invoice.paid": "invoice.paid",
  "dev.antaeus.invoice.payment_failed": "invoice.payment_failed",
  "dev.antaeus.invoice.needs_person": "invoice.needs_person",
  "dev.antaeus.billing.run_completed": "billing.run_completed",
} as const;

const ajv = new Ajv2020({ allErrors: true, strict: true });
addFormats.default(ajv);
const validators = Object.fromEntries(
  Object.entries(SCHEMAS).map(([type, file]) => [
    type,
    ajv.compile(
      JSON.parse(
        readFileSync(new URL(`../../docs/events/${file}.schema.json`, import.meta.url), "utf8"),
      ),
    ),
  ]),
);

/** Problems of an event's data against the schema documented for its type (docs/events/). */
export function schemaProblems(type: string, data: unknown): string[] {
  const validate = validators[type];
  if (!validate) return [`no documented schema for type ${type}`];
  if (validate(data)) return [];
  return (validate.errors ?? []).map((e) => `${type} ${e.instancePath} ${e.message}`);
}

/**
 * The events the ledger and Antaeus's final statuses imply, one line each: a paid event per
 * successful charge, a payment-failed event per declined charge (with its reason), a
 * needs-person event per invoice left for a person, a run-completed event per completed run. A
 * charge Antaeus has not learned the outcome of yet (its invoice NETWORK_ERROR, holding the
 * charge's key for the next run to ask under) implies nothing yet.
 */
export async function impliedEvents(system: System): Promise<string[]> {
  const [charges, invoices, runs, unknown] = await Promise.all([
    system.ledgerDb<
      Array<{ invoice_id: number; status: string; reason: string | null; key: string | null }>
    >`select invoice_id, status, reason, idempotency_key as key from payment.charges`,
    system.antaeusDb<Array<{ id: number; status: string }>>`
      select id, status from invoices where status in
        ('RETRIES_EXHAUSTED', 'HARD_DECLINED', 'OUTCOME_UNKNOWN', 'CURRENCY_MISMATCH', 'CUSTOMER_NOT_FOUND')`,
    system.antaeusDb<Array<{ id: number }>>`select id from billing_runs where status = 'COMPLETED'`,
    system.antaeusDb<Array<{ key: string }>>`
      select attempt_key::text as key from invoices
      where status = 'NETWORK_ERROR' and attempt_key is not null`,
  ]);
  const notYetKnown = new Set(unknown.map((row) => row.key));
  return [
    ...charges
      .filter((c) => c.key === null || !notYetKnown.has(c.key))
      .map((c) =>
        c.status === "succeeded"
          ? `paid invoices/${c.invoice_id}`
          : `payment_failed invoices/${c.invoice_id} ${c.reason}`,
      ),
    ...invoices.map((i) => `needs_person invoices/${i.id} ${i.status}`),
    ...runs.map((r) => `run_completed runs/${r.id}`),
  ].sort();
}

/** The events Antaeus's outbox holds, delivered or not, as eventLines writes them. */
export async function outboxLines(system: System): Promise<string[]> {
  return eventLines(
    await system.antaeusDb<Array<{ type: string; subject: string; data: unknown }>>`
      select type, subject, data from billing_events`,
  );
}

/** The same lines for events as received (or as the outbox holds them). */
export function eventLines(
  events: Array<{ type: string; subject: string | undefined; data: unknown }>,
): string[] {
  return events
    .map((e) => {
      const kind = e.type.split(".").at(-1);
      const data = e.data as { reason?: string | null; status?: string };
      if (kind === "payment_failed") return `${kind} ${e.subject} ${data.reason}`;
      if (kind === "needs_person") return `${kind} ${e.subject} ${data.status}`;
      return `${kind} ${e.subject}`;
    })
    .sort();
}
