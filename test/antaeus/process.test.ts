import { randomBytes } from "node:crypto";
import { describe, expect, inject, it } from "vitest";
import { loadAntaeusConfig } from "../../functions/antaeus/config.js";
import { ConfigError } from "../../functions/runtime/index.js";
import { createDatabase, openSql } from "../support/database.js";
import { startFunction } from "../support/processes.js";

describe("configuration", () => {
  it.each([
    [{ PORT: "http" }, "PORT"],
    // In any environment: npm start and the tests give one; no function makes its own.
    [{}, "antaeus: DATABASE_URL: is required: the postgres:// URL of the function's database"],
  ])("%j exits 1 naming %s", async (env, named) => {
    const instance = await startFunction("antaeus", env, { waitForListening: false });
    const { code } = await instance.exited;
    expect(code).toBe(1);
    expect(instance.text.join("\n")).toContain(named);
  });

  it.each([
    [{ PORT: "70000" }, "PORT"],
    [{ LOG_LEVEL: "loud" }, "LOG_LEVEL"],
    [{ DATABASE_URL: "mysql://db/antaeus" }, "DATABASE_URL"],
    [{ SEED_CUSTOMERS: "-1" }, "SEED_CUSTOMERS"],
    [{ SEED_ENABLED: "maybe" }, "SEED_ENABLED"],
  ])("%j is refused naming %s (read by the same loader, which exits 1 as above)", (env, named) => {
    const load = () => loadAntaeusConfig(env);
    expect(load).toThrow(ConfigError);
    expect(load).toThrow(named);
  });
});

describe("graceful shutdown", () => {
  it("on SIGTERM, lets a slow request finish, then exits 0", async () => {
    const url = await createDatabase("sigterm");
    const antaeus = await startFunction("antaeus", {
      DATABASE_URL: url,
      SHUTDOWN_TIMEOUT_MS: "10000",
    });
    const sql = openSql(url);
    let release = () => {};
    try {
      // Hold a lock the request must wait for: a slow request without any test hook in the app.
      const released = new Promise<void>((resolve) => {
        release = resolve;
      });
      let locked = () => {};
      const isLocked = new Promise<void>((resolve) => {
        locked = resolve;
      });
      const holding = sql.begin(async (tx) => {
        await tx`lock table invoices in access exclusive mode`;
        locked();
        await released;
      });
      await isLocked;
      const slow = fetch(`${antaeus.url}/rest/v1/invoices/1`);
      // The request is in, its query waiting for the lock: now the replica is told to stop.
      await expect
        .poll(
          async () =>
            (
              await sql`select count(*)::int as n from pg_stat_activity
                        where datname = current_database() and wait_event_type = 'Lock'`
            )[0]?.n,
          { timeout: 20_000, interval: 50 },
        )
        .toBe(1);
      antaeus.child.kill("SIGTERM");
      await expect
        .poll(() => antaeus.logs.some((l) => l.msg === "shutting down: no new connections"))
        .toBe(true);
      release();
      await holding;
      const response = await slow;
      expect(response.status).toBe(200);
      expect(((await response.json()) as { id: number }).id).toBe(1);
      expect(await antaeus.exited).toEqual({ code: 0, signal: null });
      const messages = antaeus.logs.map((l) => l.msg);
      expect(messages).toContain("shutting down: no new connections");
      expect(messages.at(-1)).toBe("stopped");
      await expect(fetch(`${antaeus.url}/healthz`)).rejects.toThrow();
    } finally {
      release();
      await sql.end();
      await antaeus.stop();
    }
  });
});

describe("logs", () => {
  it("never hold the database URL or its password, from start to stop", async () => {
    const antaeus = await startFunction("antaeus", {
      DATABASE_URL: await createDatabase("logs"),
      SEED_CUSTOMERS: "1",
    });
    expect((await fetch(`${antaeus.url}/rest/v1/invoices/1`)).status).toBe(200);
    expect(await antaeus.stop()).toEqual({ code: 0, signal: null });
    const all = JSON.stringify(antaeus.logs) + antaeus.text.join("\n");
    expect(antaeus.logs.map((line) => line.msg)).toContain("migrations applied");
    expect(all).not.toMatch(/postgres:\/\//);
    expect(all).not.toContain(":postgres@");
  });
});

describe("start-up", () => {
  it("waits for a database that is not there yet instead of crashing, then serves", async () => {
    const name = `late_${randomBytes(4).toString("hex")}`;
    const url = new URL(inject("postgresUrl"));
    url.pathname = `/${name}`;
    const antaeus = await startFunction(
      "antaeus",
      { DATABASE_URL: url.toString() },
      { waitForListening: false },
    );
    try {
      await expect
        .poll(() => antaeus.logs.some((l) => l.msg === "database not reachable yet; waiting"), {
          timeout: 60_000,
        })
        .toBe(true);
      const admin = openSql(inject("postgresUrl"));
      await admin`create database ${admin(name)}`;
      await admin.end();
      await expect
        .poll(() => antaeus.logs.find((l) => String(l.msg).startsWith("listening")), {
          timeout: 20_000,
        })
        .toBeDefined();
      expect(antaeus.child.exitCode).toBeNull();
    } finally {
      await antaeus.stop();
    }
  });
});
