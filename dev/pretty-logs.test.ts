import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogger } from "../functions/runtime/process/logger.js";
import { foldRequests, prettyLine, prettyStream } from "./pretty-logs.js";

/** Lines exactly as a function writes them. */
function logged(write: (logger: ReturnType<typeof createLogger>) => void): string[] {
  const lines: string[] = [];
  write(createLogger("payment", "debug", undefined, { write: (line) => lines.push(line.trim()) }));
  return lines;
}

const plain = { colour: false };

describe("readable log lines (npm start on a terminal)", () => {
  it("shows a request as one line: time, service, level, method, path, status, duration and the handler's fields, without ids or flags that are off", () => {
    const [line] = logged((logger) =>
      logger.child({ requestId: "7f1d2c9e-1111-2222-3333-444455556666" }).info(
        {
          method: "POST",
          route: "/v1/charges",
          path: "/v1/charges",
          status: 200,
          durationMs: 1.4,
          invoiceId: 7,
          chargeId: "ch_abc",
          charge: "declined",
          replayed: false,
          idempotencyKey: null,
        },
        "request",
      ),
    );
    expect(prettyLine(line ?? "", plain)).toMatch(
      /^\d\d:\d\d:\d\d\.\d{3} payment INFO {2}POST \/v1\/charges 200 1\.4 ms invoiceId=7 charge=declined$/,
    );
  });

  it("shows any other line as its message and fields, quoting text with spaces", () => {
    const [line] = logged((logger) =>
      logger.warn({ reason: "connection refused", retryInMs: 250 }, "database not reachable yet"),
    );
    expect(prettyLine(line ?? "", plain)).toMatch(
      / payment WARN {2}database not reachable yet reason="connection refused" retryInMs=250$/,
    );
  });

  it("puts an error's stack under its line", () => {
    const [line] = logged((logger) => logger.error({ err: new Error("boom") }, "unhandled error"));
    const text = prettyLine(line ?? "", plain);
    expect(text.split("\n")[0]).toMatch(/ERROR unhandled error$/);
    expect(text.split("\n")[1]).toBe("    Error: boom");
  });

  it("colours level and status on a terminal, and nothing when asked not to", () => {
    const [line] = logged((logger) => logger.error("stopped"));
    expect(prettyLine(line ?? "", { colour: true })).toContain("\x1b[31mERROR\x1b[0m");
    expect(prettyLine(line ?? "", plain)).not.toContain("\x1b[");
  });

  it("passes through what is not a log line (a configuration error, a stack on stderr)", () => {
    expect(prettyLine("payment: invalid configuration", plain)).toBe(
      "payment: invalid configuration",
    );
    expect(prettyLine('{"not":"a log line"}', plain)).toBe('{"not":"a log line"}');
  });

  it("turns a stream of lines into as many readable lines, in order", async () => {
    const input = new PassThrough();
    const output = new PassThrough();
    const out: string[] = [];
    output.on("data", (chunk: Buffer) => out.push(chunk.toString()));
    prettyStream(input, output, plain);
    for (const line of logged((logger) => {
      logger.info("one");
      logger.info("two");
    }))
      input.write(`${line}\n`);
    input.end();
    await new Promise((resolve) => setImmediate(resolve));
    expect(
      out
        .join("")
        .split("\n")
        .filter(Boolean)
        .map((l) => l.split(" ").at(-1)),
    ).toEqual(["one", "two"]);
  });

  it("folds a run of alike requests (a billing run's charges) into one line: the count, the durations' range, and a tally of their text fields", () => {
    const out: string[] = [];
    const fold = foldRequests((text) => out.push(text), plain);
    const charge = (invoiceId: number, charge: string, durationMs: number) => ({
      method: "POST",
      route: "/v1/charges",
      path: "/v1/charges",
      status: 200,
      durationMs,
      invoiceId,
      charge,
    });
    const lines = logged((logger) => {
      logger.info("run started");
      logger.info(charge(1, "declined", 4.2), "request");
      logger.info(charge(2, "succeeded", 20.9), "request");
      logger.info(charge(3, "succeeded", 7), "request");
      logger.info({ ...charge(4, "declined", 3), status: 409 }, "request");
      logger.info(
        {
          ...charge(5, "declined", 3),
          route: "/rest/v1/invoices/:id",
          path: "/rest/v1/invoices/5",
        },
        "request",
      );
      logger.info(
        {
          ...charge(6, "declined", 3),
          route: "/rest/v1/invoices/:id",
          path: "/rest/v1/invoices/6",
        },
        "request",
      );
      logger.info("run finished");
    });
    for (const line of lines) fold.push(line);
    fold.flush();
    expect(out.map((line) => line.replace(/^\S+ /, ""))).toEqual([
      "payment INFO  run started",
      "payment INFO  POST /v1/charges 200 ×3 4.2–20.9 ms charge=declined:1,succeeded:2",
      "payment INFO  POST /v1/charges 409 3 ms invoiceId=4 charge=declined",
      "payment INFO  POST /rest/v1/invoices/:id 200 ×2 3–3 ms charge=declined:2",
      "payment INFO  run finished",
    ]);
  });

  it("writes a run of requests once it pauses, without waiting for another line", async () => {
    const out: string[] = [];
    const fold = foldRequests((text) => out.push(text), plain);
    for (const line of logged((logger) => {
      logger.info(
        { method: "GET", route: "/readyz", path: "/readyz", status: 200, durationMs: 1 },
        "request",
      );
      logger.info(
        { method: "GET", route: "/readyz", path: "/readyz", status: 200, durationMs: 2 },
        "request",
      );
    }))
      fold.push(line);
    expect(out).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(out).toHaveLength(1);
    expect(out[0]).toMatch(/ GET \/readyz 200 ×2 1–2 ms$/);
  });
});
