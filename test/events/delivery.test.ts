import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EventSink, startEventSink } from "../support/event-sink.js";
import { startFunction } from "../support/processes.js";
import { pay, type System, startSystem } from "../support/system.js";
import { eventLines, impliedEvents, schemaProblems } from "./support.js";

const outbox = (system: System) =>
  system.antaeusDb<
    Array<{ id: string; type: string; subject: string; data: unknown; delivered_at: Date | null }>
  >`select id, type, subject, data, delivered_at from billing_events`;

const resume = (url: string) => fetch(`${url}/rest/v1/billing/resume`, { method: "POST" });

describe("events delivered to K_SINK", () => {
  let sink: EventSink;
  let system: System;
  beforeAll(async () => {
    sink = await startEventSink();
    system = await startSystem({
      antaeus: {
        K_SINK: sink.url,
        K_CE_OVERRIDES: '{"extensions":{"team":"billing"}}',
        EVENTS_SOURCE: "//antaeus.test/antaeus",
        SEED_CUSTOMERS: "30",
        SEED_INVOICES_PER_CUSTOMER: "2",
      },
    });
  });
  afterAll(async () => {
    await system?.stop();
    await sink?.close();
  });

  it("are exactly the events the ledger implies, each once, as valid CloudEvents", async () => {
    const { status } = await pay(system.antaeus[0]!.url);
    expect(status).toBe(200);
    // Each request that worked the run delivers what it can before it answers; the lane's request
    // may still be delivering a batch (locked, so the pay call's request skipped it) when the pay
    // call answers.
    const implied = await impliedEvents(system);
    await expect.poll(() => eventLines(sink.received), { timeout: 15_000 }).toEqual(implied);
    expect(new Set(sink.received.map((e) => e.id)).size).toBe(sink.received.length);
    for (const event of sink.received) {
      expect(event.headers["ce-specversion"]).toBe("1.0");
      expect(event.source).toBe("//antaeus.test/antaeus");
      expect(event.headers["ce-team"]).toBe("billing");
      expect(event.headers["content-type"]).toBe("application/json");
      expect(Number.isNaN(Date.parse(event.time ?? ""))).toBe(false);
      expect(schemaProblems(event.type, event.data)).toEqual([]);
    }
    // Every outbox row is marked delivered, and only after the sink answered.
    expect((await outbox(system)).filter((row) => row.delivered_at === null)).toEqual([]);
  });

  it("retries a delivery the sink refused, with backoff, under the same id", async () => {
    const before = sink.received.length;
    sink.control.failNext = 3;
    // A second run: the declined invoices again (a pay call from the API charges them at once).
    await pay(system.antaeus[0]!.url);
    // Once every event of the run has been tried (see above), the refused ones wait.
    await expect
      .poll(async () => (await outbox(system)).filter((row) => row.delivered_at === null), {
        timeout: 15_000,
      })
      .toHaveLength(3);
    const refused = sink.received.slice(before, before + 3).map((e) => e.id);
    // The watchdog's next request delivers them, once their backoff has passed.
    await sleep(600);
    await resume(system.antaeus[0]!.url);
    const ids = sink.received.slice(before).map((e) => e.id);
    for (const id of refused) expect(ids.filter((seen) => seen === id)).toHaveLength(2);
    expect((await outbox(system)).filter((row) => row.delivered_at === null)).toEqual([]);
    expect(eventLines(dedupe(sink.received))).toEqual(await impliedEvents(system));
  });
});

const dedupe = <T extends { id: string }>(events: T[]) => [
  ...new Map(events.map((e) => [e.id, e])).values(),
];

describe("a replica killed mid-delivery", () => {
  let sink: EventSink;
  let system: System;
  beforeAll(async () => {
    sink = await startEventSink();
    system = await startSystem({
      antaeus: { K_SINK: sink.url, SEED_CUSTOMERS: "40", SEED_INVOICES_PER_CUSTOMER: "2" },
    });
  });
  afterAll(async () => {
    await system?.stop();
    await sink?.close();
  });

  it("loses none: after a restart every event arrives, and a duplicate carries the same id", async () => {
    sink.gate.shut();
    const first = system.antaeus[0]!;
    const paying = pay(first.url).catch(() => undefined);
    // The sink has the first batch and holds its answers: kill Antaeus now.
    await expect
      .poll(() => sink.received.length, {
        timeout: 30_000,
        interval: 20,
        message: "the sink never received the first batch",
      })
      .toBeGreaterThan(0);
    await sleep(100);
    await first.stop("SIGKILL");
    await paying;
    const seenBeforeKill = new Set(sink.received.map((e) => e.id));
    sink.gate.release();
    expect((await outbox(system)).some((row) => row.delivered_at === null)).toBe(true);

    // The next request on a new replica (here the watchdog's) finishes the run and the outbox.
    const second = await startFunction("antaeus", system.antaeusEnv);
    system.antaeus.push(second);
    const answer = await resume(second.url);
    expect(answer.status).toBe(200);
    for (let i = 0; i < 20 && (await outbox(system)).some((r) => r.delivered_at === null); i++) {
      await sleep(500);
      await resume(second.url);
    }

    const rows = await outbox(system);
    expect(rows.filter((row) => row.delivered_at === null)).toEqual([]);
    const ids = sink.received.map((e) => e.id);
    expect(new Set(ids)).toEqual(new Set(rows.map((row) => row.id)));
    // Sent again after the restart: only what the killed replica had sent unacknowledged.
    const duplicates = ids.filter((id, i) => ids.indexOf(id) !== i);
    expect(duplicates.length).toBeGreaterThan(0);
    for (const id of duplicates) expect(seenBeforeKill.has(id)).toBe(true);
    // A duplicate is the same event: same type, subject and data.
    for (const id of duplicates) {
      const copies = sink.received.filter((e) => e.id === id);
      for (const copy of copies) {
        expect([copy.type, copy.subject, copy.data]).toEqual([
          copies[0]!.type,
          copies[0]!.subject,
          copies[0]!.data,
        ]);
      }
    }
    expect(eventLines(dedupe(sink.received))).toEqual(await impliedEvents(system));
    for (const event of sink.received) expect(schemaProblems(event.type, event.data)).toEqual([]);
  });
});
