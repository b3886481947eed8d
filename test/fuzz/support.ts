import { randomInt } from "node:crypto";
import fc from "fast-check";
import { expect, it } from "vitest";
import { exchange, type WireResponse } from "../support/raw-http.js";
import { dress, type Encoded, encode, type FuzzRequest } from "./wire.js";

export type { FuzzRequest } from "./wire.js";

/** Methods a request may use: mostly the routes' own, then any, known to Node's parser or not. */
const METHODS = ["GET", "GET", "GET", "POST", "POST", "PUT", "DELETE", "PATCH", "HEAD"];
export const method = fc.oneof(
  { weight: 20, arbitrary: fc.constantFrom(...METHODS) },
  {
    weight: 1,
    arbitrary: fc.constantFrom("OPTIONS", "TRACE", "CONNECT", "PROPFIND", "get", "QUERY"),
  },
);

/** Printable ASCII with the odd Latin-1 byte: what a header value may hold. */
const headerChar = fc.oneof(
  { weight: 20, arbitrary: fc.integer({ min: 0x20, max: 0x7e }) },
  { weight: 1, arbitrary: fc.integer({ min: 0xa0, max: 0xff }) },
);
export const headerValue = (maxLength: number) =>
  fc
    .array(headerChar, { maxLength })
    .map((codes) => String.fromCharCode(...codes).trim())
    .filter((value) => value.length > 0);

/** A path segment: plain, percent-encoded (some of it not UTF-8), dots, or long. */
export const segment = fc.oneof(
  fc.stringMatching(/^[\w.~-]{1,12}$/),
  fc.string({ unit: "grapheme", minLength: 1, maxLength: 8 }).map(encodeURIComponent),
  fc.constantFrom("..", ".", "%00", "%ff%fe", "%2f", "%", "%zz", ";", "a%20b", "'", '"'),
  fc.stringMatching(/^[a-z]{200,600}$/),
);

/** What an id in a path may be: good, at the edges, or not a number at all. */
export const idText = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: 1, max: 40 }).map(String) },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      "0",
      "-1",
      "01",
      "1.5",
      "1e3",
      "0x10",
      "2147483647",
      "2147483648",
      "99999999999999999999",
      "NaN",
      "Infinity",
      " 1",
      "%201",
      "1%00",
    ),
  },
  { weight: 1, arbitrary: fc.bigInt({ min: -(10n ** 40n), max: 10n ** 40n }).map(String) },
  { weight: 1, arbitrary: segment },
);

/** A query string from `keys` (the ones the route reads, repeated or not) and noise. */
export const query = (keys: string[], values: fc.Arbitrary<string>) =>
  fc
    .array(
      fc.tuple(fc.oneof(fc.constantFrom(...keys), fc.stringMatching(/^[a-z_]{1,10}$/)), values),
      { maxLength: 4 },
    )
    .map((pairs) =>
      pairs.length === 0
        ? ""
        : `?${pairs.map(([key, value]) => `${key}=${encodeURIComponent(value)}`).join("&")}`,
    );

/** A JSON body of `size` bytes. */
const filler = (size: number) => Buffer.from(`{"padding":"${"x".repeat(Math.max(0, size - 14))}"}`);
/**
 * A body that is JSON more often than not, now and then at or over the cap. The large ones are
 * made once, as bytes, and shared by every request that draws them: making and encoding a fresh
 * one (up to a MiB) for each was a fifth of the client's CPU.
 */
export const body = (limit: number): fc.Arbitrary<string | Buffer> =>
  fc.oneof(
    { weight: 4, arbitrary: fc.json({ maxDepth: 3 }) },
    { weight: 2, arbitrary: fc.string({ unit: "grapheme", maxLength: 200 }) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        ...[limit - 1, limit, limit + 1, 4 * limit, 16 * limit].map(filler),
      ),
    },
  );

export const contentType = fc.constantFrom(
  "application/json",
  "application/json; charset=utf-8",
  "Application/JSON",
  "application/cloudevents+json",
  "Application/CloudEvents+json",
  "text/plain",
  "application/x-www-form-urlencoded",
  "",
);

/** Counts of answers by status, and of requests sent and answered, for the record. */
interface Tally {
  statuses: Map<number, number>;
  sent: number;
  answered: number;
  /** Connections the server cut with the client's bytes unread, its answer lost (see exchange). */
  reset: number;
}

/** 1 to 3 requests written on one connection at once (pipelined), each dressed its own way. */
const wireCase = (request: fc.Arbitrary<FuzzRequest>) =>
  fc
    .array(fc.tuple(request, dress), { minLength: 1, maxLength: 3 })
    .map((pairs) => pairs.map(([req, how]) => ({ req, encoded: encode(req, how) })));

type WireCase = Array<{ req: FuzzRequest; encoded: Encoded }>;

const bytes = (encoded: Encoded) => Buffer.concat(encoded.parts);

/**
 * Sends one case and checks what every answer owes its caller: no 5xx; a request id; for a 4xx,
 * the JSON error shape. A request whose body never finishes is given up on (half-close) once
 * the ones before it are answered; every other request is owed an answer unless the server
 * closed the connection after an earlier one (an error, HTTP/1.0).
 */
async function sendAndCheck(port: number, wire: WireCase, tally: Tally): Promise<void> {
  // What follows a body that never finishes is only more of that body.
  const cut = wire.findIndex((part) => !part.encoded.finished);
  const sent = cut < 0 ? wire : wire.slice(0, cut + 1);
  const methods = sent.map((part) => part.encoded.method);
  const expected = cut < 0 ? sent.length : cut;
  // Said only when something fails: a request may carry a MiB.
  const described = () =>
    sent
      .map(
        ({ req, encoded }) =>
          `${req.method} ${req.path.slice(0, 120)} (${bytes(encoded).length} bytes: ${JSON.stringify(bytes(encoded).subarray(0, 300).toString("latin1"))})`,
      )
      .join("; ");
  const { responses, closed, reset, raw, error } = await exchange(
    port,
    wire.flatMap((part) => part.encoded.parts),
    { methods, expected, timeoutMs: 10_000, ...(cut < 0 ? {} : { finAfterMs: 10 }) },
  ).catch((error: unknown) => {
    throw new Error(`${described()}: ${(error as Error).message}`);
  });
  tally.sent += sent.length;
  tally.answered += Math.min(responses.length, sent.length);
  // Closed before answering them all: only after saying so, on an answer that closes, or when
  // the server cut a connection it was still being sent megabytes on (counted as a reset).
  const announced = /close/i.test(responses.at(-1)?.headers.connection ?? "");
  if (responses.length < expected && !announced) {
    if (reset) tally.reset++;
    else {
      expect.fail(
        `${described()}: ${responses.length} of ${expected} answered, then the connection ${closed ? "closed" : "stayed open"} without saying it would close${error ? ` (socket error ${error})` : ""}; received ${JSON.stringify(raw.slice(0, 200))}`,
      );
    }
  }
  responses.forEach((response, index) => {
    tally.statuses.set(response.status, (tally.statuses.get(response.status) ?? 0) + 1);
    const fault = answerFault(response, methods[index]);
    if (fault !== undefined) {
      expect.fail(
        `${described()} [answer ${index + 1}] → ${response.status} ${response.body.slice(0, 300)}: ${fault}`,
      );
    }
  });
}

/**
 * What an answer owes its caller and this one lacks, if anything: a status below 500; a request
 * id; for a 4xx, JSON, and (but to a HEAD) the error shape `{"error":{"code","message"}}`, both
 * strings and nothing else. Plain code: vitest's matchers, four per answer, were a tenth of the
 * client's CPU.
 */
function answerFault(response: WireResponse, method: string | undefined): string | undefined {
  const { status, headers, body } = response;
  if (!(status < 500)) return "a status of 500 or more, or none";
  if (!/^[\w.:-]{1,128}$/.test(headers["x-request-id"] ?? "")) {
    return `request id ${JSON.stringify(headers["x-request-id"])}, not 1 to 128 of [\\w.:-]`;
  }
  if (status < 400) return undefined;
  if (!/^application\/json/.test(String(headers["content-type"]))) {
    return `content type ${JSON.stringify(headers["content-type"])}, not JSON`;
  }
  if (method === "HEAD") return undefined;
  let answer: unknown;
  try {
    answer = JSON.parse(body);
  } catch {
    return "a body that is not JSON";
  }
  const error = isObjectOf(answer, ["error"]) ? answer.error : undefined;
  const shaped =
    isObjectOf(error, ["code", "message"]) &&
    typeof error.code === "string" &&
    typeof error.message === "string";
  return shaped ? undefined : 'not the error shape {"error":{"code":"…","message":"…"}}';
}

/** A plain object (not an array) with exactly these own keys. */
function isObjectOf(value: unknown, keys: string[]): value is Record<string, unknown> {
  return (
    typeof value === "object" &&
    value !== null &&
    !Array.isArray(value) &&
    Object.keys(value).length === keys.length &&
    keys.every((key) => Object.hasOwn(value, key))
  );
}

/** Resident memory of a function, as its /metrics (on its metrics port) reports it. */
async function residentBytes(metricsUrl: string): Promise<number> {
  const text = await (await fetch(metricsUrl)).text();
  const line = /^process_resident_memory_bytes (\d+(?:\.\d+)?(?:e\+\d+)?)$/m.exec(text);
  if (!line?.[1]) throw new Error("no process_resident_memory_bytes in /metrics");
  return Number(line[1]);
}

/** FUZZ_SEED to replay a run, else a new seed each run, so that runs explore. */
const fuzzSeed = (): number =>
  process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : randomInt(2 ** 31);

/** At least this many requests answered per function and auth setting. */
const REQUESTS = 5_000;
const BATCH = 8;
/**
 * The RSS bound: at most 64 MiB more after the run than before it, the process having met 1,000
 * generated requests first. Measured on this suite, Antaeus's RSS grows 27–38 MiB over 5,000
 * requests (payment's about 10), and no further over 30,000, while the heap in use returns to
 * where it started: V8 sizing its heap for the load, not a leak. A leak of 13 KiB per request (a
 * retained body, say) passes 64 MiB, and so would buffering what the body cap refuses (over 100
 * bodies of two to sixteen times the cap per run). The pods' memory limits are 512 Mi (Antaeus)
 * and 256 Mi (payment).
 */
const RSS_GROWTH_BOUND = 64 * 2 ** 20;
const WARM_UP = 1_000;

export interface FuzzTarget {
  /** The function's API port. */
  port: number;
  /** Its /metrics on METRICS_PORT, open whatever the auth setting. */
  metricsUrl: string;
}

/**
 * The suite's one test for a function: requests from `request`, written at the wire level (raw
 * bytes on a socket, see wire.ts), 8 connections at a time, each checked by sendAndCheck, until
 * at least 5,000 are answered after a warm-up of 1,000; then /healthz answers and RSS has grown
 * less than the bound. A new seed each run (FUZZ_SEED replays one); a failure names it.
 */
export function fuzzTest(
  name: string,
  target: () => FuzzTarget,
  request: fc.Arbitrary<FuzzRequest>,
) {
  it(`answers ${REQUESTS} generated requests, written byte by byte, without a 5xx, each 4xx in the JSON error shape with a request id, and stays up within its memory bound`, {
    timeout: 240_000, // a shared machine may take minutes
  }, async () => {
    const seed = fuzzSeed();
    const { port, metricsUrl } = target();
    const tally: Tally = { statuses: new Map(), sent: 0, answered: 0, reset: 0 };
    const property = fc.asyncProperty(
      fc.array(wireCase(request), { minLength: BATCH, maxLength: BATCH }),
      async (batch) => {
        await Promise.all(batch.map((wire) => sendAndCheck(port, wire, tally)));
      },
    );
    // Rounds until enough are answered, each on its own seed following from the run's (the
    // warm-up's too, so that no case is sent twice). A round asks for what is missing at the
    // answers per case seen so far (before any, a low guess), so the last rounds only top up.
    let round = 0;
    const seen = { cases: 0, answered: 0 };
    const run = async (until: number) => {
      while (tally.answered < until) {
        const perCase = seen.cases === 0 ? 1.5 * BATCH : seen.answered / seen.cases;
        const cases = Math.ceil((until - tally.answered) / perCase);
        const answered = tally.answered;
        try {
          await fc.assert(property, { seed: seed + round++, numRuns: cases, endOnFailure: true });
        } catch (error) {
          const cause = (error as Error).cause;
          throw new Error(
            `${name} fuzz failed; replay with FUZZ_SEED=${seed}\n${cause instanceof Error ? cause.message : ""}\n${(error as Error).message.slice(0, 4000)}`,
          );
        }
        seen.cases += cases;
        seen.answered += tally.answered - answered;
      }
    };
    await run(WARM_UP);
    Object.assign(tally, { statuses: new Map(), sent: 0, answered: 0, reset: 0 });
    const before = await residentBytes(metricsUrl);
    await run(REQUESTS);
    const after = await residentBytes(metricsUrl);
    console.log(
      `${name} fuzz, seed ${seed}: ${tally.sent} requests sent, ${tally.answered} answered, ${tally.reset} connections reset before their answer was read; by status ${JSON.stringify(Object.fromEntries([...tally.statuses].sort()))}; RSS ${mib(before)} → ${mib(after)} MiB`,
    );
    expect(tally.answered).toBeGreaterThanOrEqual(REQUESTS);
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    expect(
      after - before,
      `RSS grew from ${mib(before)} to ${mib(after)} MiB (seed ${seed})`,
    ).toBeLessThan(RSS_GROWTH_BOUND);
  });
}

const mib = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;
