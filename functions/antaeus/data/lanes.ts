import type { Fragment } from "postgres";
import type { Sql } from "../../runtime/index.js";
import type { ClaimedInvoice } from "../domain/claim.js";
import { type LaneState, RUNNING } from "../domain/run.js";
import { type ClaimRow, claimCtes, claimedInvoice } from "./claims.js";

/** One slot of a run, and the request chain that holds it (docs/billing.md, "Lanes"). */
export interface LaneSlot {
  lane: number;
  holder: string;
}

/** The provider's shared rate as a lane last read it (billing/provider-rate.ts). */
export interface ProviderSnapshot {
  /** Calls per second the last 429 set; null when none has. */
  rate: number | null;
  /** The last decrease, as the database wrote it: a 429 report names the state it saw. */
  decreasedAt: string | null;
  sinceDecreaseMs: number | null;
  /** How long every lane still waits before its next call (a Retry-After). */
  pausedMs: number;
  /** Lanes that asked for a share and hold an answer that has not lapsed, this one included. */
  holders: number;
}

/** Unix milliseconds on the database's clock: shares lapse at such an instant. */
const nowMs = (sql: Sql) => sql`(extract(epoch from now()) * 1000)`;

/** The snapshot's columns, read from the provider_rate row `p`. */
const snapshotColumns = (sql: Sql) => sql`
  p.rate, p.decreased_at::text as decreased_at,
  (extract(epoch from now() - p.decreased_at) * 1000)::float8 as since_decrease_ms,
  greatest(0, extract(epoch from p.paused_until - now()) * 1000)::float8 as paused_ms,
  (select count(*) from jsonb_each(p.shares) e
   where (e.value->>2)::float8 > 0 and (e.value->>1)::float8 > ${nowMs(sql)})::int as holders`;

interface SnapshotRow {
  rate: number | null;
  decreased_at: string | null;
  since_decrease_ms: number | null;
  paused_ms: number;
  holders: number;
}

const snapshotOf = (row: SnapshotRow): ProviderSnapshot => ({
  rate: row.rate,
  decreasedAt: row.decreased_at,
  sinceDecreaseMs: row.since_decrease_ms,
  pausedMs: row.paused_ms,
  holders: row.holders,
});

/**
 * Starts the lanes a run wants, 1 to `wanted`: a slot never started, one whose lane ended, one
 * silent for `staleMs` (its chain broke), and `handingOver`, the caller's own, each get a new
 * holder; the caller sends one request per slot returned. A slot whose lane is ticking is locked
 * for that moment and skipped: it is alive. Nothing starts unless the run is RUNNING, and the
 * caller's own slot ends when the run wants fewer lanes than its number.
 */
export async function startLanes(
  sql: Sql,
  options: {
    runId: number;
    wanted: number;
    staleMs: number;
    handingOver?: LaneSlot & { settled: number };
  },
): Promise<LaneSlot[]> {
  const { runId, wanted, staleMs } = options;
  const mine = options.handingOver ?? { lane: 0, holder: null, settled: 0 };
  return sql<LaneSlot[]>`
    with run as (
      select id from billing_runs where id = ${runId} and status = ${RUNNING}
    ), fresh as (
      insert into billing_lanes (run_id, lane, holder)
      select ${runId}, n, gen_random_uuid() from run, generate_series(1, ${wanted}) as n
      on conflict (run_id, lane) do nothing
      returning lane, holder
    ), due as (
      select lane from billing_lanes, run
      where run_id = ${runId} and lane <= ${wanted}
        and (holder is null
             or heartbeat_at < now() - ${staleMs} * interval '1 millisecond'
             or (lane = ${mine.lane} and holder = ${mine.holder}::uuid))
      for update of billing_lanes skip locked
    ), taken as (
      update billing_lanes l
      set holder = gen_random_uuid(), worker = null, heartbeat_at = now(),
          invoices = l.invoices + case when l.lane = ${mine.lane} then ${mine.settled}::int else 0 end
      from due where l.run_id = ${runId} and l.lane = due.lane
      returning l.lane, l.holder
    ), ended as (
      update billing_lanes
      set holder = null, invoices = invoices + ${mine.settled}::int,
          invoices_per_second = 0, calls_per_second = 0
      where run_id = ${runId} and lane = ${mine.lane} and holder = ${mine.holder}::uuid
        and lane > ${wanted}
      returning lane
    )
    select lane, holder::text as holder from fresh
    union all
    select lane, holder::text as holder from taken
    order by lane`;
}

/** What a lane reports at each tick, for the run's page and the other lanes. */
export interface LaneReport {
  worker: string;
  /** Verdicts reached since the last tick. */
  settled: number;
  /** 429s since the last tick. */
  throttled: number;
  invoicesPerSecond: number;
  callsPerSecond: number;
}

export interface TickResult {
  /** False once another request holds the slot: this one stops claiming and does not hand on. */
  held: boolean;
  invoices: ClaimedInvoice[];
  /** Calls per second granted until `validMs` from now; undefined when none was asked for. */
  share: number | undefined;
  provider: ProviderSnapshot;
  /** Provider calls per second of the run's lanes, as each last reported. */
  runCallsPerSecond: number;
}

/**
 * A lane's tick, one round trip: its heartbeat and report; its share of the provider's rate
 * (when one is asked for: at most `want`, and never more than `cap` less what the other holders'
 * unlapsed shares add up to, decided under the provider_rate row's lock, so two lanes ticking
 * together cannot both take the same calls); and its next claim (0 for none). A request whose
 * slot another holds claims nothing, but still gets a share for the charges it has in hand.
 */
export async function laneTick(
  sql: Sql,
  options: LaneSlot & {
    runId: number;
    claim: number;
    leaseMs: number;
    report: LaneReport;
    share: { want: number; cap: number; validMs: number } | undefined;
  },
): Promise<TickResult> {
  const { runId, lane, holder, report, share } = options;
  const now = nowMs(sql);
  const others = sql`
    from jsonb_each(p.shares) e where e.key <> ${holder} and (e.value->>1)::float8 > ${now}`;
  const state: Fragment = share
    ? sql`
      update provider_rate p
      set shares = (select coalesce(jsonb_object_agg(e.key, e.value), '{}'::jsonb) ${others})
        || jsonb_build_object(${holder}::text, jsonb_build_array(
             least(${share.want}::float8, greatest(0::float8,
               ${share.cap}::float8 - (select coalesce(sum((e.value->>0)::float8), 0) ${others}))),
             ${now} + ${share.validMs}, ${share.want}::float8))
      where p.id = 1
      returning p.*`
    : sql`select * from provider_rate p where p.id = 1`;
  const rows = await sql<Array<SnapshotRow & Partial<ClaimRow> & TickColumns>>`
    with lane as (
      update billing_lanes
      set heartbeat_at = now(), worker = ${report.worker},
          invoices = invoices + ${report.settled}, throttled = throttled + ${report.throttled},
          invoices_per_second = ${report.invoicesPerSecond},
          calls_per_second = ${report.callsPerSecond}
      where run_id = ${runId} and lane = ${lane} and holder = ${holder}::uuid
      returning 1
    ), state as (${state}),
    ${claimCtes(sql, runId, options.claim, options.leaseMs, sql`exists (select 1 from lane)`)}
    select (select count(*) from lane)::int as held, ${snapshotColumns(sql)},
           (p.shares -> ${holder} ->> 0)::float8 as share,
           (select coalesce(sum(l.calls_per_second), 0) from billing_lanes l
            where l.run_id = ${runId} and l.holder is not null
              and l.heartbeat_at > now() - interval '5 seconds')::float8 as run_calls,
           c.*
    from state p left join claimed c on true`;
  const [first] = rows;
  if (!first) throw new Error("provider_rate has no row: the migrations have not run");
  return {
    held: first.held === 1,
    invoices: rows.filter((row) => row.id != null).map((row) => claimedInvoice(row as ClaimRow)),
    share: share ? (first.share ?? 0) : undefined,
    provider: snapshotOf(first),
    runCallsPerSecond: first.run_calls,
  };
}

interface TickColumns {
  held: number;
  share: number | null;
  run_calls: number;
}

/** A lane's last word: the slot ends (the run is done), and its share goes back. */
export async function endLane(sql: Sql, slot: LaneSlot & { runId: number; settled: number }) {
  await sql`
    with ended as (
      update billing_lanes
      set holder = null, invoices = invoices + ${slot.settled},
          invoices_per_second = 0, calls_per_second = 0, heartbeat_at = now()
      where run_id = ${slot.runId} and lane = ${slot.lane} and holder = ${slot.holder}::uuid
      returning 1
    )
    update provider_rate set shares = shares - ${slot.holder}::text where id = 1`;
}

/**
 * A 429: every lane pauses for `pauseMs` (its Retry-After), and with `decrease` the rate drops to
 * `decrease.rate`, unless another lane already lowered it since `decrease.seen` (the state this
 * lane's rate came from): one decrease for one burst of 429s, however many lanes met it.
 */
export async function reportThrottle(
  sql: Sql,
  options: { decrease: { seen: string | null; rate: number } | undefined; pauseMs: number },
): Promise<ProviderSnapshot> {
  const { decrease, pauseMs } = options;
  const lower = decrease
    ? sql`decreased_at is not distinct from ${decrease.seen}::timestamptz`
    : sql`false`;
  const [row] = await sql<[SnapshotRow]>`
    update provider_rate p
    set paused_until = greatest(coalesce(paused_until, now()), now() + ${pauseMs} * interval '1 millisecond'),
        rate = case when ${lower} then ${decrease?.rate ?? null}::real else rate end,
        decreased_at = case when ${lower} then now() else decreased_at end
    where id = 1
    returning ${snapshotColumns(sql)}`;
  return snapshotOf(row);
}

export async function providerSnapshot(sql: Sql): Promise<ProviderSnapshot> {
  const [row] = await sql<[SnapshotRow]>`
    select ${snapshotColumns(sql)} from provider_rate p where id = 1`;
  return snapshotOf(row);
}

/** A lane ticks at least once a second; five without one and it is shown silent. */
const SILENT_AFTER_MS = 5_000;

export interface LaneView {
  lane: number;
  state: LaneState;
  worker: string | null;
  invoices: number;
  invoicesPerSecond: number;
  callsPerSecond: number;
  throttled: number;
  lastSeenAt: Date;
}

export async function lanesOf(sql: Sql, runId: number): Promise<LaneView[]> {
  const rows = await sql<
    Array<Omit<LaneView, "state"> & { active: boolean; silent_ms: number; starting: boolean }>
  >`
    select lane, holder is not null as active, worker is null as starting, worker,
           invoices, invoices_per_second as "invoicesPerSecond",
           calls_per_second as "callsPerSecond", throttled, heartbeat_at as "lastSeenAt",
           (extract(epoch from now() - heartbeat_at) * 1000)::float8 as silent_ms
    from billing_lanes where run_id = ${runId} order by lane`;
  return rows.map(({ active, silent_ms, starting, ...lane }) => ({
    ...lane,
    state: !active
      ? "ended"
      : silent_ms > SILENT_AFTER_MS
        ? "silent"
        : starting
          ? "starting"
          : "working",
  }));
}
