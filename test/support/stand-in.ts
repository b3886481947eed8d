import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A payment provider written in the test, for what our own payment function will not do on
 * demand: answer 429, never answer, hold an answer until the test says so, or freeze its caller
 * at the moment a request arrives. It speaks HTTP on a local port, like any provider.
 */

export interface ProviderCall {
  /** The path posted to: a test may give each replica an endpoint of its own. */
  path: string;
  /** The Idempotency-Key header; null when the caller sent none (the original dialect). */
  key: string | null;
  /** invoice_id from the body, else customer_id (the original dialect sends no invoice id). */
  invoice: number;
  body: Record<string, unknown>;
  headers: IncomingHttpHeaders;
  /** When it arrived (performance.now() of the test process). */
  at: number;
  /** 1 for the first call about this invoice, 2 for the second, … */
  nth: number;
}

export type Reply = { status: number; body?: unknown; headers?: Record<string, string> } | "hang";

export interface StandIn {
  url: string;
  calls: ProviderCall[];
  close: () => Promise<void>;
}

export async function startStandIn(
  answer: (call: ProviderCall) => Reply | Promise<Reply>,
): Promise<StandIn> {
  const calls: ProviderCall[] = [];
  const perInvoice = new Map<number, number>();
  const server = createServer((request, response) => {
    let text = "";
    request.on("data", (chunk) => (text += chunk));
    request.on("end", async () => {
      const body = JSON.parse(text) as Record<string, unknown>;
      const invoice = Number(body.invoice_id ?? body.customer_id);
      const key = request.headers["idempotency-key"];
      const nth = (perInvoice.get(invoice) ?? 0) + 1;
      perInvoice.set(invoice, nth);
      const call: ProviderCall = {
        path: request.url ?? "/",
        key: typeof key === "string" ? key : null,
        invoice,
        body,
        headers: request.headers,
        at: performance.now(),
        nth,
      };
      calls.push(call);
      const reply = await answer(call);
      // "hang", or the caller gave up (deadline, or the process was killed) meanwhile.
      if (reply === "hang" || response.destroyed) return;
      response.writeHead(reply.status, { "content-type": "application/json", ...reply.headers });
      response.end(typeof reply.body === "string" ? reply.body : JSON.stringify(reply.body ?? {}));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * A provider that honours Idempotency-Key as ours does: the first call with a key decides and
 * charges (or declines), a repeat gets the same answer and charges nothing. Counts successful
 * charges per invoice, the provider's side of "charged at most once".
 */
export function keyedProvider(decide: (call: ProviderCall) => boolean) {
  const outcomes = new Map<string, boolean>();
  const charges = new Map<number, number>();
  return {
    charges,
    charge(call: ProviderCall): Reply {
      let paid = call.key === null ? undefined : outcomes.get(call.key);
      if (paid === undefined) {
        paid = decide(call);
        if (call.key !== null) outcomes.set(call.key, paid);
        if (paid) charges.set(call.invoice, (charges.get(call.invoice) ?? 0) + 1);
      }
      return { status: 200, body: { result: paid } };
    },
  };
}

/**
 * Passes a call on to a real provider (our payment function) as it came, and its answer back,
 * with the Retry-After of a 429 or 503.
 */
export async function forward(target: string, call: ProviderCall): Promise<Reply> {
  const response = await fetch(`${target}/v1/charges`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(call.key === null ? {} : { "idempotency-key": call.key }),
    },
    body: JSON.stringify(call.body),
  });
  const retryAfter = response.headers.get("retry-after");
  return {
    status: response.status,
    body: await response.text(),
    ...(retryAfter === null ? {} : { headers: { "retry-after": retryAfter } }),
  };
}

/**
 * Holds answers back while shut: the request has reached the provider (and may have charged),
 * the caller hears nothing until the gate opens. What a lost answer looks like, on demand.
 */
export class AnswerGate {
  /** Answers being held right now. */
  held = 0;
  private opened: Promise<void> | undefined;
  private open: () => void = () => {};

  shut(): void {
    this.opened ??= new Promise((resolve) => {
      this.open = resolve;
    });
  }

  release(): void {
    this.opened = undefined;
    this.open();
  }

  async pass<T>(answer: T | Promise<T>): Promise<T> {
    const value = await answer;
    const opened = this.opened;
    if (!opened) return value;
    this.held++;
    await opened;
    this.held--;
    return value;
  }
}
