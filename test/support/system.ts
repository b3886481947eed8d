import { type Activator, startActivator } from "./activator.js";
import { createDatabase, openSql } from "./database.js";
import { type FunctionProcess, startFunction } from "./processes.js";
import { AnswerGate, forward, type StandIn, startStandIn } from "./stand-in.js";

export interface System {
  antaeus: FunctionProcess[];
  payment: FunctionProcess;
  antaeusDb: ReturnType<typeof openSql>;
  ledgerDb: ReturnType<typeof openSql>;
  antaeusEnv: Record<string, string>;
  /** In front of the replicas for the lanes' requests, when the system has lanes. */
  activator: Activator | undefined;
  stop: () => Promise<void>;
}

/** What the checks below read of a system, in processes or in-process: its two databases. */
export type SystemDatabases = Pick<System, "antaeusDb" | "ledgerDb">;

/**
 * Both functions as separate processes on fresh, migrated databases, wired as on Knative: Antaeus calls
 * payment's charge route over HTTP. Payment's draws are seeded so a run is reproducible. With
 * `lanes`, a run is worked by up to that many lanes, their requests spread over the replicas by
 * an activator (activator.ts), at most one lane per replica.
 */
export async function startSystem(
  options: {
    antaeus?: Record<string, string>;
    payment?: Record<string, string>;
    replicas?: number;
    lanes?: number;
    /** Each function from its bundle rather than its startup snapshot (startFunction). */
    bundle?: boolean;
  } = {},
): Promise<System> {
  const from = options.bundle ? { bundle: true } : {};
  const [antaeusUrl, paymentUrl] = await Promise.all([
    createDatabase("billing", { migratedFor: "antaeus" }),
    createDatabase("ledger", { migratedFor: "payment" }),
  ]);
  const payment = await startFunction(
    "payment",
    { DATABASE_URL: paymentUrl, PAYMENT_AUTH: "off", PAYMENT_SEED: "1", ...options.payment },
    from,
  );
  const activator = options.lanes ? await startActivator() : undefined;
  const antaeusEnv = {
    DATABASE_URL: antaeusUrl,
    PAYMENT_PROVIDER_ENDPOINT: `${payment.url}/v1/charges`,
    SEED_LAST_PERIOD: "2026-10",
    ...(activator ? { BILLING_LANES: String(options.lanes), BILLING_LANE_URL: activator.url } : {}),
    ...options.antaeus,
  };
  const antaeus = await Promise.all(
    Array.from({ length: options.replicas ?? 1 }, () => startFunction("antaeus", antaeusEnv, from)),
  );
  for (const replica of antaeus) activator?.add(replica.url);
  const antaeusDb = openSql(antaeusUrl);
  const ledgerDb = openSql(paymentUrl);
  return {
    antaeus,
    payment,
    antaeusDb,
    ledgerDb,
    antaeusEnv,
    activator,
    stop: async () => {
      await Promise.all([...antaeus.map((a) => a.stop()), payment.stop()]);
      await Promise.all([antaeusDb.end(), ledgerDb.end(), activator?.close()]);
    },
  };
}

export interface FrontedSystem extends System {
  /** Where Antaeus's charges arrive before they reach payment; `front.calls` counts them. */
  front: StandIn;
  gate: AnswerGate;
  /** Requests seen so far, and after how many the gate shuts by itself. */
  control: { requests: number; holdAfter: number };
}

/**
 * startSystem with payment behind a front that can hold answers back (stand-in.ts): every charge
 * reaches payment and is charged, but once `control.holdAfter` requests have come, or the test
 * shuts the gate, callers hear nothing more until it opens. Lost answers, on demand.
 */
export async function startFrontedSystem(
  options: Parameters<typeof startSystem>[0] = {},
): Promise<FrontedSystem> {
  const gate = new AnswerGate();
  const control = { requests: 0, holdAfter: Number.POSITIVE_INFINITY };
  let payment = "";
  const front = await startStandIn((call) => {
    if (++control.requests > control.holdAfter) gate.shut();
    return gate.pass(forward(payment, call));
  });
  const system = await startSystem({
    ...options,
    antaeus: { ...options.antaeus, PAYMENT_PROVIDER_ENDPOINT: `${front.url}/v1/charges` },
  });
  payment = system.payment.url;
  return {
    ...system,
    front,
    gate,
    control,
    stop: async () => {
      gate.release();
      await system.stop();
      await front.close();
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
  refusal: { code: string; refused: number; answered: number; message: string } | null;
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

/** Waits until no run is in progress, so that the next pay call starts a run of its own. */
export async function waitForNoRunningRun(
  system: SystemDatabases,
  timeoutMs = 20_000,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const [row] = await system.antaeusDb<[{ n: number }]>`
      select count(*)::int as n from billing_runs where status = 'RUNNING'`;
    if (row.n === 0) return;
    if (Date.now() > until) throw new Error(`${row.n} run(s) still in progress`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * The billing promise, checked against the provider's ledger: no invoice has more than one
 * successful charge; an invoice is PAID exactly when it has one, except one whose outcome is not
 * yet known to Antaeus (NETWORK_ERROR) and which keeps the key of that charge, so the next run
 * asks under it and learns it; and none is left PROCESSING.
 */
export async function exactlyOnceViolations(system: SystemDatabases): Promise<string[]> {
  const [invoices, charges] = await Promise.all([
    system.antaeusDb<Array<{ id: number; status: string; attempt_key: string | null }>>`
      select id, status, attempt_key from invoices order by id`,
    system.ledgerDb<Array<{ invoice_id: number; succeeded: number; key: string | null }>>`
      select invoice_id, count(*)::int as succeeded, min(idempotency_key) as key
      from payment.charges where invoice_id is not null and status = 'succeeded'
      group by invoice_id`,
  ]);
  const succeeded = new Map(charges.map((c) => [c.invoice_id, c]));
  const violations: string[] = [];
  for (const invoice of invoices) {
    const charge = succeeded.get(invoice.id);
    const n = charge?.succeeded ?? 0;
    const toReconcile = invoice.status === "NETWORK_ERROR" && invoice.attempt_key === charge?.key;
    if (n > 1) violations.push(`invoice ${invoice.id} charged ${n} times`);
    else if ((invoice.status === "PAID") !== (n === 1) && !toReconcile) {
      violations.push(`invoice ${invoice.id} is ${invoice.status} with ${n} successful charges`);
    }
    if (invoice.status === "PROCESSING") violations.push(`invoice ${invoice.id} left PROCESSING`);
  }
  return violations;
}

export async function statusCounts(system: SystemDatabases): Promise<Record<string, number>> {
  const rows = await system.antaeusDb<Array<{ status: string; n: number }>>`
    select status, count(*)::int as n from invoices group by status`;
  return Object.fromEntries(rows.map((r) => [r.status, r.n]));
}
