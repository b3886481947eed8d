import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogger } from "../functions/runtime/process/logger.js";
import { prettyLine, prettyStream } from "./pretty-logs.js";

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
});
