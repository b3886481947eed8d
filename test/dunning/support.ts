import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { pingDelivery } from "../support/cloudevents.js";
import { createDatabase, openSql } from "../support/database.js";
import { type FunctionProcess, startFunction } from "../support/processes.js";
import { scratchDir } from "../support/scratch.js";
import {
  AnswerGate,
  forward,
  type ProviderCall,
  type Reply,
  type StandIn,
  startStandIn,
} from "../support/stand-in.js";
import type { RunBody } from "../support/system.js";

/**
 * How payment answers one call: our payment function in one of three moods, a bare decline, or
 * a refusal of the request itself (a 400, charging nothing).
 */
export type Mood = "soft" | "pays" | "hard" | "bare" | "refused";

/**
 * Antaeus with its billing clock in a file the test rewrites (BILLING_CLOCK_FILE), in front of
 * our payment function in three moods sharing one ledger: declining softly, paying, declining
 * hard. A front picks the mood per call (`script`), so the ledger holds every charge whatever the
 * mood, and can hold answers back (`gate`). "bare" answers `{"result": false}` itself, as the
 * original challenge's providers do, and charges nothing.
 */
export interface DunningSystem {
  antaeus: FunctionProcess;
  antaeusDb: ReturnType<typeof openSql>;
  ledgerDb: ReturnType<typeof openSql>;
  front: StandIn;
  gate: AnswerGate;
  setClock: (instant: string) => void;
  /** POST /rest/v1/billing/resume, as the hourly watchdog PingSource sends it. */
  watchdog: (id: string) => Promise<{ status: number; body: { run: RunBody | null } }>;
  /** POST /rest/v1/invoices/pay with the monthly PingSource's CloudEvent. */
  monthly: (id: string) => Promise<{ status: number; body: RunBody }>;
  stop: () => Promise<void>;
}

export async function startDunningSystem(options: {
  antaeus: Record<string, string>;
  /** The mood of the n-th call (1-based) about an invoice; "soft" when it returns undefined. */
  script: (call: ProviderCall) => Mood | undefined;
  start: string;
}): Promise<DunningSystem> {
  const [antaeusUrl, ledgerUrl] = await Promise.all([
    createDatabase("dunning"),
    createDatabase("dunningledger"),
  ]);
  const common = { DATABASE_URL: ledgerUrl, PAYMENT_AUTH: "off", PAYMENT_SEED: "3" };
  // One at a time: they share the ledger's migrations.
  const soft = await startFunction("payment", {
    ...common,
    PAYMENT_SUCCESS_RATE: "0",
    PAYMENT_DECLINE_REASONS: "insufficient_funds=1",
  });
  const [pays, hard] = await Promise.all([
    startFunction("payment", { ...common, PAYMENT_SUCCESS_RATE: "1" }),
    startFunction("payment", {
      ...common,
      PAYMENT_SUCCESS_RATE: "0",
      PAYMENT_DECLINE_REASONS: "expired_card=1",
    }),
  ]);
  const moods = { soft: soft.url, pays: pays.url, hard: hard.url };
  const gate = new AnswerGate();
  const front = await startStandIn((call): Promise<Reply> => {
    const mood = options.script(call) ?? "soft";
    if (mood === "bare") return gate.pass({ status: 200, body: { result: false } });
    // At once, past the gate: the invoice is decided (REJECTED) while others are held.
    if (mood === "refused") {
      return Promise.resolve({
        status: 400,
        body: { error: { code: "invalid_request", message: "refused by the provider" } },
      });
    }
    return gate.pass(forward(moods[mood], call));
  });
  const clockFile = join(scratchDir("antaeus-clock"), "now");
  const setClock = (instant: string) => writeFileSync(clockFile, instant);
  setClock(options.start);
  const antaeus = await startFunction("antaeus", {
    DATABASE_URL: antaeusUrl,
    PAYMENT_PROVIDER_ENDPOINT: `${front.url}/v1/charges`,
    BILLING_CLOCK_FILE: clockFile,
    ...options.antaeus,
  });
  const antaeusDb = openSql(antaeusUrl);
  const ledgerDb = openSql(ledgerUrl);
  const post = async <T>(path: string, init: RequestInit) => {
    const response = await fetch(`${antaeus.url}${path}`, { method: "POST", ...init });
    return { status: response.status, body: (await response.json()) as T };
  };
  return {
    antaeus,
    antaeusDb,
    ledgerDb,
    front,
    gate,
    setClock,
    watchdog: (id) =>
      post(
        "/rest/v1/billing/resume",
        pingDelivery({ source: "antaeus/billing-watchdog", id, data: "{}" }),
      ),
    monthly: (id) =>
      post("/rest/v1/invoices/pay", pingDelivery({ source: "antaeus/monthly-billing", id })),
    stop: async () => {
      gate.release();
      await Promise.all([antaeus.stop(), soft.stop(), pays.stop(), hard.stop()]);
      await Promise.all([antaeusDb.end(), ledgerDb.end(), front.close()]);
    },
  };
}

/** Every charge the ledger holds for each invoice, oldest first. */
export async function ledgerByInvoice(
  system: DunningSystem,
): Promise<Map<number, Array<{ key: string; status: string; reason: string | null }>>> {
  const rows = await system.ledgerDb<
    Array<{ invoice_id: number; idempotency_key: string; status: string; reason: string | null }>
  >`select invoice_id, idempotency_key, status, reason from payment.charges order by created_at, id`;
  const byInvoice = new Map<
    number,
    Array<{ key: string; status: string; reason: string | null }>
  >();
  for (const row of rows) {
    const list = byInvoice.get(row.invoice_id) ?? [];
    list.push({ key: row.idempotency_key, status: row.status, reason: row.reason });
    byInvoice.set(row.invoice_id, list);
  }
  return byInvoice;
}

export async function invoiceStates(system: DunningSystem) {
  const rows = await system.antaeusDb<
    Array<{
      id: number;
      status: string;
      declines: number;
      next_retry_at: Date | null;
      period: string;
    }>
  >`select id, status, declines, next_retry_at, period::text from invoices order by id`;
  return new Map(rows.map((row) => [row.id, row]));
}
