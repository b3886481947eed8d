import { describe, expect, it } from "vitest";
import { createLogger } from "./logger.js";

const capture = (level = "info") => {
  const lines: string[] = [];
  const logger = createLogger("payment", level, "payment-00001", {
    write: (line) => lines.push(line),
  });
  return { logger, lines, parsed: () => lines.map((line) => JSON.parse(line)) };
};

describe("the JSON log line", () => {
  it("is one JSON object per line: level, time, the bindings, the fields, then the message", () => {
    const { logger, lines } = capture();
    logger.child({ requestId: "r-1" }).info({ status: 200, durationMs: 1.5 }, "request");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/\n$/);
    expect(lines[0]?.slice(0, -1)).not.toContain("\n");
    const line = JSON.parse(lines[0] ?? "");
    expect(Object.keys(line)).toEqual([
      "level",
      "time",
      "service",
      "revision",
      "requestId",
      "status",
      "durationMs",
      "msg",
    ]);
    expect(line).toMatchObject({ level: "info", service: "payment", status: 200, msg: "request" });
    expect(new Date(line.time).toISOString()).toBe(line.time);
  });

  it("takes a message alone, and leaves out fields without a value", () => {
    const { logger, parsed } = capture();
    logger.warn("stopped");
    logger.info({ invoiceId: undefined, customerId: null, note: 'say "hi"\n' });
    expect(parsed()).toEqual([
      expect.objectContaining({ level: "warn", msg: "stopped" }),
      expect.not.objectContaining({ msg: expect.anything(), invoiceId: expect.anything() }),
    ]);
    expect(parsed()[1]).toMatchObject({ customerId: null, note: 'say "hi"\n' });
  });

  it("writes its level and those above it, and nothing when silent", () => {
    const info = capture("info");
    info.logger.debug("hidden");
    info.logger.trace("hidden");
    info.logger.error("shown");
    info.logger.fatal("shown");
    expect(info.parsed().map((line) => line.level)).toEqual(["error", "fatal"]);
    const silent = capture("silent");
    silent.logger.fatal("hidden");
    expect(silent.lines).toEqual([]);
  });

  it("never writes a credential, at any depth", () => {
    const { logger, lines } = capture();
    logger.info({
      databaseUrl: "postgres://u:secret1@db/x",
      request: { authorization: "Bearer secret2", nested: [{ token: "secret3" }] },
    });
    logger.child({ token: "secret4" }).info("child");
    expect(lines.join("")).not.toMatch(/secret/);
    expect(JSON.parse(lines[0] ?? "").request.authorization).toBe("[redacted]");
  });

  it("writes an error's class, message, stack, own fields and cause", () => {
    const { logger, parsed } = capture();
    const cause = Object.assign(new Error("connection refused"), { code: "ECONNREFUSED" });
    logger.error({ err: new TypeError("charge failed", { cause }) }, "unhandled error");
    const { err } = parsed()[0];
    expect(err).toMatchObject({
      type: "TypeError",
      message: "charge failed",
      cause: { type: "Error", message: "connection refused", code: "ECONNREFUSED" },
    });
    expect(err.stack).toContain("logger.test.ts");
  });

  it("writes what JSON cannot hold without failing: cycles, big integers, non-finite numbers", () => {
    const { logger, lines, parsed } = capture();
    const loop: Record<string, unknown> = { name: "loop" };
    loop.self = loop;
    logger.info({ loop, big: 2n ** 70n, ratio: Number.NaN, inner: { big: 1n } });
    // A big integer is written exactly, as a number; inside an object, as a string.
    expect(lines[0]).toContain('"big":1180591620717411303424,');
    expect(parsed()[0]).toMatchObject({
      loop: { name: "loop", self: "[circular]" },
      ratio: null,
      inner: { big: "1" },
    });
  });
});
