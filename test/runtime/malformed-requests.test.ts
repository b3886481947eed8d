import { connect } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDatabase } from "../support/database.js";
import { type FunctionProcess, startFunction } from "../support/processes.js";
import { exchange, parseResponse, rawRequest } from "../support/raw-http.js";

/**
 * Requests that Node's HTTP parser or the adapter refuse before the app sees them. They get
 * the same JSON error shape, a request id and a log line as every other answer.
 */
let antaeus: FunctionProcess;
let payment: FunctionProcess;
beforeAll(async () => {
  [antaeus, payment] = await Promise.all([
    createDatabase("malformed_antaeus").then((url) =>
      startFunction("antaeus", { DATABASE_URL: url, SEED_CUSTOMERS: "1" }),
    ),
    createDatabase("malformed_payment").then((url) =>
      startFunction("payment", { DATABASE_URL: url, PAYMENT_AUTH: "off" }),
    ),
  ]);
});
afterAll(async () => {
  await Promise.all([antaeus?.stop(), payment?.stop()]);
});

const cases: Array<[string, number, string]> = [
  ["a malformed request line", 400, "GARBAGE\r\n\r\n"],
  ["a request line with a bad version", 400, "GET / HTTP/9.9\r\nHost: x\r\n\r\n"],
  ["a bad Host", 400, "GET /healthz HTTP/1.1\r\nHost: bad host[\r\n\r\n"],
  ["no Host in HTTP/1.1", 400, "GET /healthz HTTP/1.1\r\n\r\n"],
  [
    "a bad chunk size",
    400,
    "POST /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nab\r\n0\r\n\r\n",
  ],
  [
    "both Content-Length and chunked",
    400,
    "POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
  ],
  [
    "a header over 16 KB",
    431,
    `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Padding: ${"a".repeat(17 * 1024)}\r\n\r\n`,
  ],
  ["Expect: nonsense", 417, "GET /healthz HTTP/1.1\r\nHost: x\r\nExpect: nonsense\r\n\r\n"],
];

describe.each([
  ["antaeus", () => antaeus],
  ["payment", () => payment],
])("%s, refusing a request before routing", (_, fn) => {
  it.each(cases)(
    "%s: %i in the JSON error shape, with a request id and a log line",
    async (_, status, bytes) => {
      const response = parseResponse(await rawRequest(fn().port, bytes));
      expect(response.status).toBe(status);
      expect(response.headers["content-type"]).toMatch(/^application\/json/);
      expect(JSON.parse(response.body)).toEqual({
        error: { code: expect.any(String), message: expect.any(String) },
      });
      const requestId = response.headers["x-request-id"];
      expect(requestId).toMatch(/^[\w.:-]{1,128}$/);
      await expect
        .poll(() => fn().logs.find((line) => line.requestId === requestId))
        .toMatchObject({ status });
    },
  );

  it("still serves afterwards", async () => {
    expect((await fetch(`${fn().url}/healthz`)).status).toBe(200);
  });
});

const ASK_TO_UPGRADE = "Upgrade: websocket\r\nConnection: Upgrade\r\n";
const healthz = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";

describe.each([
  ["antaeus", () => antaeus],
  ["payment", () => payment],
])("%s, answering what Node would leave unanswered", (_, fn) => {
  const send = (bytes: string | Buffer, methods: string[]) =>
    exchange(fn().port, bytes, { methods, expected: methods.length, timeoutMs: 5_000 });
  const shape = { error: { code: expect.any(String), message: expect.any(String) } };

  it("CONNECT (a tunnel, which only a proxy gives): 400 in the JSON error shape", async () => {
    const { responses } = await send(
      "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com\r\n\r\n",
      ["CONNECT"],
    );
    expect(responses.map((r) => r.status)).toEqual([400]);
    expect(JSON.parse(responses[0]!.body)).toEqual(shape);
  });

  it("a request pipelined before a broken one gets its own answer first, then the refusal, then the close", async () => {
    // /readyz waits for the database, so the broken request is read while its answer is owed.
    const { responses } = await send("GET /readyz HTTP/1.1\r\nHost: x\r\n\r\nGARBAGE\r\n\r\n", [
      "GET",
      "GET",
    ]);
    expect(responses.map((r) => r.status)).toEqual([200, 400]);
    expect(JSON.parse(responses[1]!.body)).toEqual(shape);
    expect(responses[1]!.headers.connection).toBe("close");
  });

  it("an ask to upgrade is ignored (RFC 9110 section 7.8): the request and the ones after it are answered", async () => {
    const asking = `GET /healthz HTTP/1.1\r\nHost: x\r\n${ASK_TO_UPGRADE}\r\n`;
    const { responses } = await send(`${healthz}${asking}${healthz}`, ["GET", "GET", "GET"]);
    expect(responses.map((r) => r.status)).toEqual([200, 200, 200]);
    // Its body is read as a body: a malformed chunk is refused like any other.
    const chunked = `POST /healthz HTTP/1.1\r\nHost: x\r\n${ASK_TO_UPGRADE}Transfer-Encoding: chunked\r\n\r\nzz\r\nab\r\n0\r\n\r\n`;
    const refused = await send(chunked, ["POST"]);
    expect(refused.responses.map((r) => r.status)).toEqual([400]);
    expect(JSON.parse(refused.responses[0]!.body)).toEqual(shape);
  });
});

/**
 * Sends `head` and the first part of a body, waits for the answer, then sends the rest of the
 * body in parts and closes, whether or not the server has closed its side meanwhile: a client
 * uploading a large body that the server answered early (a pipelined client, or one that
 * writes the body in one go, has it on the wire already). Resolves with what it received and
 * the socket error it met, if any.
 */
function sendRestAfterAnswer(port: number, head: string, rest: Buffer[]) {
  return new Promise<{ raw: string; error?: string }>((resolve) => {
    const socket = connect({ port, host: "127.0.0.1", allowHalfOpen: true });
    let raw = "";
    let error: string | undefined;
    let answered = false;
    socket.on("data", async (chunk) => {
      raw += chunk.toString("latin1");
      if (answered || !raw.includes("\r\n\r\n")) return;
      answered = true;
      for (const part of rest) {
        await sleep(20);
        if (socket.destroyed) return;
        socket.write(part);
      }
      socket.end();
    });
    socket.on("error", (failure: NodeJS.ErrnoException) => {
      error = failure.code ?? failure.message;
    });
    socket.on("close", () => resolve({ raw, ...(error === undefined ? {} : { error }) }));
    socket.write(head);
  });
}

describe.each([
  ["antaeus", () => antaeus],
  ["payment", () => payment],
])("%s, closing a connection after its last answer", (_, fn) => {
  // Over both functions' body caps, so the answer (a 413) comes before the body is sent.
  const parts = Array.from({ length: 8 }, () => Buffer.alloc(64 * 1024, "x"));
  const length = 1024 + parts.length * 64 * 1024;
  it.each([
    ["an HTTP/1.0 request", "HTTP/1.0", ""],
    ["a request that says Connection: close", "HTTP/1.1", "Connection: close\r\n"],
  ])(
    "%s: reads what the client still sends, so the answer is never lost to a reset (RFC 9112 section 9.6)",
    async (_, version, connection) => {
      const head = `GET /healthz ${version}\r\nHost: x\r\n${connection}Content-Length: ${length}\r\n\r\n${"x".repeat(1024)}`;
      const { raw, error } = await sendRestAfterAnswer(fn().port, head, parts);
      expect(error).toBeUndefined();
      expect(parseResponse(raw).status).toBe(413);
      expect(parseResponse(raw).headers.connection).toBe("close");
    },
  );
});
