import { createDatabase, openSql } from "./database.js";
import { type FunctionProcess, startFunction } from "./processes.js";

export interface System {
  antaeus: FunctionProcess[];
  payment: FunctionProcess;
  antaeusDb: ReturnType<typeof openSql>;
  ledgerDb: ReturnType<typeof openSql>;
  antaeusEnv: Record<string, string>;
  stop: () => Promise<void>;
}

/**
 * Both functions as separate processes on fresh databases, wired as on Knative: Antaeus calls
 * payment's charge route over HTTP. Payment's draws are seeded so a run is reproducible.
 */
export async function startSystem(
  options: {
    antaeus?: Record<string, string>;
    payment?: Record<string, string>;
    replicas?: number;
  } = {},
): Promise<System> {
  const [antaeusUrl, paymentUrl] = await Promise.all([
    createDatabase("billing"),
    createDatabase("ledger"),
  ]);
  const payment = await startFunction("payment", {
    DATABASE_URL: paymentUrl,
    PAYMENT_AUTH: "off",
    PAYMENT_SEED: "1",
    ...options.payment,
  });
  const antaeusEnv = {
    DATABASE_URL: antaeusUrl,
    PAYMENT_PROVIDER_ENDPOINT: `${payment.url}/v1/charges`,
    SEED_LAST_PERIOD: "2026-10",
    ...options.antaeus,
  };
  const antaeus = await Promise.all(
    Array.from({ length: options.replicas ?? 1 }, () => startFunction("antaeus", antaeusEnv)),
  );
  const antaeusDb = openSql(antaeusUrl);
  const ledgerDb = openSql(paymentUrl);
  return {
    antaeus,
    payment,
    antaeusDb,
    ledgerDb,
    antaeusEnv,
    stop: async () => {
      await Promise.all([...antaeus.map((a) => a.stop()), payment.stop()]);
      await Promise.all([antaeusDb.end(), ledgerDb.end()]);
    },
  };
}

export interface RunBody {
  id: number;
  status: "RUNNING" | "COMPLETED";
  trigger: string;
  total: number;
  done: number;
  created?: boolean;
  counts: Record<string, number>;
}

export async function pay(
  baseUrl: string,
  init: RequestInit = {},
): Promise<{ status: number; body: RunBody }> {
  const response = await fetch(`${baseUrl}/rest/v1/invoices/pay`, { method: "POST", ...init });
  return { status: response.status, body: (await response.json()) as RunBody };
}

/** Polls a run until it is COMPLETED; nobody else calls Antaeus meanwhile. */
export async function waitForRun(
  baseUrl: string,
  runId: number,
  timeoutMs = 120_000,
): Promise<RunBody> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const run = (await (await fetch(`${baseUrl}/rest/v1/billing/runs/${runId}`)).json()) as RunBody;
    if (run.status === "COMPLETED") return run;
    if (Date.now() > until) throw new Error(`run ${runId} not completed: ${JSON.stringify(run)}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/**
 * The billing promise, checked against the provider's ledger: no invoice has more than one
 * successful charge, an invoice is PAID exactly when it has one, and none is left PROCESSING.
 */
export async function exactlyOnceViolations(system: System): Promise<string[]> {
  const [invoices, charges] = await Promise.all([
    system.antaeusDb<
      Array<{ id: number; status: string }>
    >`select id, status from invoices order by id`,
    system.ledgerDb<Array<{ invoice_id: number; succeeded: number }>>`
      select invoice_id, count(*) filter (where status = 'succeeded')::int as succeeded
      from payment.charges where invoice_id is not null group by invoice_id`,
  ]);
  const succeeded = new Map(charges.map((c) => [c.invoice_id, c.succeeded]));
  const violations: string[] = [];
  for (const invoice of invoices) {
    const n = succeeded.get(invoice.id) ?? 0;
    if (n > 1) violations.push(`invoice ${invoice.id} charged ${n} times`);
    if ((invoice.status === "PAID") !== (n === 1)) {
      violations.push(`invoice ${invoice.id} is ${invoice.status} with ${n} successful charges`);
    }
    if (invoice.status === "PROCESSING") violations.push(`invoice ${invoice.id} left PROCESSING`);
  }
  return violations;
}

export async function statusCounts(system: System): Promise<Record<string, number>> {
  const rows = await system.antaeusDb<Array<{ status: string; n: number }>>`
    select status, count(*)::int as n from invoices group by status`;
  return Object.fromEntries(rows.map((r) => [r.status, r.n]));
}
