import type { Sql } from "../../functions/runtime/index.js";
import { createDatabase, openSql } from "../support/database.js";
import { type FunctionProcess, startFunction } from "../support/processes.js";

export interface Payment {
  process: FunctionProcess;
  url: string;
  databaseUrl: string;
  /** Rows in the ledger, read straight from PostgreSQL. */
  ledger: () => Promise<LedgerRow[]>;
  stop: () => Promise<void>;
}

export interface LedgerRow {
  id: string;
  idempotency_key: string | null;
  invoice_id: number | null;
  customer_id: number;
  currency: string;
  amount_minor: string;
  status: string;
  reason: string | null;
}

/** A payment process on a fresh database (or `databaseUrl`), auth off unless `env` says. */
export async function startPayment(
  env: Record<string, string> = {},
  databaseUrl?: string,
): Promise<Payment> {
  const url = databaseUrl ?? (await createDatabase("payment"));
  const process = await startFunction("payment", {
    DATABASE_URL: url,
    PAYMENT_AUTH: "off",
    ...env,
  });
  const sql = openSql(url);
  return {
    process,
    url: process.url,
    databaseUrl: url,
    ledger: ledgerOf(sql),
    stop: async () => {
      await process.stop();
      await sql.end();
    },
  };
}

/** The ledger's rows, oldest first, read straight from PostgreSQL through `sql`. */
export const ledgerOf = (sql: Sql) => () =>
  sql<LedgerRow[]>`select * from payment.charges order by created_at, id`;

/** An in-process app's `request`. */
export type Send = (path: string, init: RequestInit) => Response | Promise<Response>;
/** Where a request goes: a process's base URL, or an in-process app's `request`. */
export type Target = string | Send;

export interface ChargeOptions {
  key?: string;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

/** POST /v1/charges as a JSON client would, with an Idempotency-Key when given. */
export async function postCharge(to: Target, body: unknown, options: ChargeOptions = {}) {
  const send =
    typeof to === "string" ? (path: string, init: RequestInit) => fetch(`${to}${path}`, init) : to;
  return send("/v1/charges", {
    method: "POST",
    headers: {
      "Content-Type": "application/json",
      ...(options.key === undefined ? {} : { "Idempotency-Key": options.key }),
      ...options.headers,
    },
    body: typeof body === "string" ? body : JSON.stringify(body),
    ...(options.signal ? { signal: options.signal } : {}),
  });
}

export interface ChargeBody {
  result: boolean;
  reason?: string;
  charge_id: string;
  status: "succeeded" | "declined";
  invoice_id: number | null;
  customer_id: number;
  currency: string;
  value: number;
  idempotency_key: string | null;
  created_at?: string;
}

/** Runs `task` for 0..count-1 with at most `limit` at a time. */
export async function inParallel<T>(
  count: number,
  limit: number,
  task: (index: number) => Promise<T>,
): Promise<T[]> {
  const results: T[] = new Array(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const index = next++;
      results[index] = await task(index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, count) }, worker));
  return results;
}
