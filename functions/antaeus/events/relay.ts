import type { Pool } from "undici";
import type { Logger, Sql } from "../../runtime/index.js";

/** How the relay reaches the sink; parsed from K_SINK, K_CE_OVERRIDES and EVENTS_SOURCE. */
export interface EventSettings {
  /** K_SINK, injected by the SinkBinding (the Broker's address); unset: events stay in the outbox. */
  sink: string | undefined;
  /** K_CE_OVERRIDES' extensions, sent as `ce-<name>` attributes on every event. */
  extensions: Record<string, string>;
  /** The CloudEvent `source`: this Antaeus instance. */
  source: string;
}

const BATCH = 50;
const DELIVERY_TIMEOUT_MS = 5_000;
/** Backoff after a failed delivery: 0.5 s doubling per failure, at most 10 minutes. */
const backoffMs = (failures: number) => Math.min(500 * 2 ** failures, 600_000);

interface OutboxRow {
  id: string;
  type: string;
  subject: string;
  data: unknown;
  time: string;
  failures: number;
}

/**
 * Delivers the outbox to K_SINK at least once, inside a request (Knative may stop a pod that
 * serves none). A batch is locked (FOR UPDATE SKIP LOCKED, so replicas share the work) for as
 * long as its deliveries take, and a row is marked delivered only after the sink answered 2xx,
 * in that same transaction: a process killed mid-batch leaves its rows to be sent again, with
 * the same CloudEvent id, so consumers dedupe on it.
 */
export class EventRelay {
  private readonly sink: URL | undefined;
  private pool: Promise<Pool> | undefined;
  private readonly path: string;

  constructor(
    private readonly sql: Sql,
    private readonly settings: EventSettings,
    private readonly logger: Logger,
  ) {
    const sink = settings.sink ? new URL(settings.sink) : undefined;
    this.sink = sink;
    this.path = sink ? sink.pathname + sink.search : "/";
  }

  /** undici is loaded by the first flush with a sink, not by every cold start (see provider.ts). */
  private connections(sink: URL): Promise<Pool> {
    // undici is CommonJS: inside the bundle, import() holds its exports only under `default`.
    this.pool ??= import("undici").then(
      ({ default: { Pool } }) => new Pool(sink.origin, { keepAliveTimeout: 30_000 }),
    );
    return this.pool;
  }

  /** Delivers what is due until the outbox has nothing due or `deadline` (performance.now()) passes. */
  async flush(deadline: number): Promise<{ delivered: number; failed: number }> {
    const total = { delivered: 0, failed: 0 };
    if (!this.sink) return total;
    const pool = await this.connections(this.sink);
    while (performance.now() < deadline) {
      const batch = await this.sql.begin(async (tx) => {
        const rows = await tx<OutboxRow[]>`
          select id, type, subject, data, time::text, failures from billing_events
          where delivered_at is null and next_attempt_at <= now()
          order by time, id limit ${BATCH}
          for update skip locked`;
        const results = await Promise.all(rows.map((row) => this.deliver(pool, row)));
        const delivered = rows.filter((_, i) => results[i] === undefined).map((row) => row.id);
        if (delivered.length > 0) {
          await tx`update billing_events set delivered_at = now() where id in ${tx(delivered)}`;
        }
        for (const [i, row] of rows.entries()) {
          const error = results[i];
          if (error === undefined) continue;
          await tx`
            update billing_events
            set failures = failures + 1, last_error = ${error},
                next_attempt_at = now() + ${backoffMs(row.failures)} * interval '1 millisecond'
            where id = ${row.id}`;
        }
        return { size: rows.length, delivered: delivered.length };
      });
      total.delivered += batch.delivered;
      total.failed += batch.size - batch.delivered;
      if (batch.size < BATCH || batch.delivered === 0) break;
    }
    if (total.failed > 0) {
      this.logger.warn(total, "some events were not delivered; they are retried with backoff");
    }
    return total;
  }

  async close(): Promise<void> {
    await (await this.pool)?.close();
  }

  /** One binary-mode CloudEvent; undefined when the sink answered 2xx, else why not. */
  private async deliver(pool: Pool, row: OutboxRow): Promise<string | undefined> {
    const headers: Record<string, string> = {
      "content-type": "application/json",
      "ce-specversion": "1.0",
      "ce-id": row.id,
      "ce-source": this.settings.source,
      "ce-type": row.type,
      "ce-subject": row.subject,
      "ce-time": new Date(row.time).toISOString(),
    };
    for (const [name, value] of Object.entries(this.settings.extensions)) {
      headers[`ce-${name}`] = value;
    }
    try {
      const response = await pool.request({
        method: "POST",
        path: this.path,
        headers,
        body: JSON.stringify(row.data),
        headersTimeout: DELIVERY_TIMEOUT_MS,
        bodyTimeout: DELIVERY_TIMEOUT_MS,
      });
      await response.body.dump();
      const ok = response.statusCode >= 200 && response.statusCode < 300;
      return ok ? undefined : `HTTP ${response.statusCode}`;
    } catch (error) {
      return error instanceof Error ? error.message.slice(0, 300) : String(error);
    }
  }
}
