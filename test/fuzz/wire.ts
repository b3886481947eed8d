import fc from "fast-check";

/** A request as a route sees it: what the function-specific generators make. */
export interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  /** Text, or bytes shared between requests (the large bodies, made once). */
  body?: string | Buffer;
}

/**
 * How a request's body is framed on the wire (RFC 9112 section 6): a length, chunks (with
 * extensions, trailers, or broken), both at once, a length given twice, a coding the server does
 * not know; or one that never finishes (a length or a chunk larger than what follows).
 */
const FRAMINGS = [
  "length",
  "chunked",
  "chunked-trailers",
  "chunked-malformed",
  "chunk-huge",
  "length-short",
  "length-twice",
  "length-and-chunked",
  "coding-unknown",
] as const;
type Framing = (typeof FRAMINGS)[number];

/** How a request is written, apart from what it asks: framing, version, and oddities. */
export interface Dress {
  framing: Framing;
  /** Where the body is cut into chunks, as fractions. */
  cuts: number[];
  http10: boolean;
  expect: string | null;
  /** One header continued on a second line (obs-fold, RFC 9112 section 5.2). */
  fold: boolean;
  /** Bytes outside ASCII in the request target, raw (UTF-8 or Latin-1). */
  rawTarget: string | null;
  upgrade: boolean;
  variant: number;
}

/** `arbitrary` once in `times`, else null. */
const nowAndThen = <T>(arbitrary: fc.Arbitrary<T>, times: number) =>
  fc.oneof({ weight: times - 1, arbitrary: fc.constant(null) }, { weight: 1, arbitrary });
const onceIn = (times: number) => fc.nat(times - 1).map((n) => n === 0);

export const dress: fc.Arbitrary<Dress> = fc.record({
  framing: fc.oneof(
    { weight: 12, arbitrary: fc.constant<Framing>("length") },
    { weight: 8, arbitrary: fc.constant<Framing>("chunked") },
    { weight: 4, arbitrary: fc.constantFrom<Framing>(...FRAMINGS) },
  ),
  cuts: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 4 }),
  http10: onceIn(10),
  expect: nowAndThen(fc.constantFrom("100-continue", "100-Continue", "200-ok"), 12),
  fold: onceIn(40),
  // Latin-1 bytes, and UTF-8 ones (é, ☃) written byte by byte.
  rawTarget: nowAndThen(
    fc.constantFrom("\u00e9", "\u00ff", "\u00a0", "\u00c3\u00a9", "\u00e2\u0098\u0083"),
    40,
  ),
  upgrade: onceIn(60),
  variant: fc.nat(5),
});

/**
 * One request as bytes, the method written (to read its answer), and whether it can finish. The
 * bytes come in parts, written together: a body shared between requests goes out as it is, never
 * copied into each.
 */
export interface Encoded {
  parts: Buffer[];
  method: string;
  finished: boolean;
}

const CRLF = "\r\n";

/** `body` in chunks cut at `cuts`, each size in hex (now and then upper-case, padded, extended). */
function chunks(body: Buffer, cuts: number[], variant: number): Buffer[] {
  const points = [...new Set(cuts.map((cut) => Math.floor(cut * body.length)))]
    .filter((at) => at > 0 && at < body.length)
    .sort((a, b) => a - b);
  const parts: Buffer[] = [];
  let from = 0;
  for (const to of [...points, body.length]) {
    if (to <= from) continue;
    const size = (to - from).toString(16);
    const written = variant === 1 ? size.toUpperCase() : variant === 2 ? `00${size}` : size;
    const extension = variant === 3 ? ";name=value" : "";
    parts.push(
      Buffer.from(`${written}${extension}${CRLF}`),
      body.subarray(from, to),
      Buffer.from(CRLF),
    );
    from = to;
  }
  return parts;
}

const MALFORMED_CHUNKS = [
  "zz\r\nab\r\n0\r\n\r\n",
  "-1\r\nab\r\n0\r\n\r\n",
  "0x2\r\nab\r\n0\r\n\r\n",
  "2\r\nabc\r\n0\r\n\r\n",
  "2\nab\n0\n\n",
  "2\r\nab0\r\n\r\n",
];
const HUGE_CHUNKS = ["ffffffffffffffffff\r\nab", "7fffffff\r\nab", "100000\r\nab"];
const UNKNOWN_CODINGS = ["gzip", "chunked, gzip", "identity", "Chunked", "chunked\t", "x-chunked"];

/**
 * `request` written as `how` says. A body goes on every method, GET and HEAD included; only a
 * request without one and with the plain framing goes without framing headers.
 */
export function encode(request: FuzzRequest, how: Dress): Encoded {
  const body = typeof request.body === "string" ? Buffer.from(request.body) : request.body;
  const target = how.rawTarget === null ? request.path : `${request.path}${how.rawTarget}`;
  const lines = [`${request.method} ${target} ${how.http10 ? "HTTP/1.0" : "HTTP/1.1"}`];
  // HTTP/1.0 needs no Host; now and then it goes without.
  if (!how.http10 || how.variant > 1) lines.push("Host: localhost");
  for (const [name, value] of Object.entries(request.headers)) lines.push(`${name}: ${value}`);
  if (how.expect !== null) lines.push(`Expect: ${how.expect}`);
  if (how.upgrade) lines.push("Upgrade: websocket", "Connection: Upgrade");
  if (how.fold && lines.length > 1) lines.push("X-Folded: first", " second");

  let framed: Buffer[] = [];
  let finished = true;
  if (body !== undefined) {
    const length = body.length;
    switch (how.framing) {
      case "length":
        lines.push(`Content-Length: ${length}`);
        framed = [body];
        break;
      case "chunked":
      case "chunked-trailers":
        lines.push("Transfer-Encoding: chunked");
        framed = [
          ...chunks(body, how.cuts, how.variant),
          Buffer.from(
            how.framing === "chunked" ? `0${CRLF}${CRLF}` : `0${CRLF}X-Trailer: t${CRLF}${CRLF}`,
          ),
        ];
        break;
      case "chunked-malformed":
        lines.push("Transfer-Encoding: chunked");
        framed = [Buffer.from(MALFORMED_CHUNKS[how.variant % MALFORMED_CHUNKS.length]!)];
        break;
      case "chunk-huge":
        lines.push("Transfer-Encoding: chunked");
        framed = [Buffer.from(HUGE_CHUNKS[how.variant % HUGE_CHUNKS.length]!)];
        finished = false;
        break;
      case "length-short":
        lines.push(`Content-Length: ${length + 1 + how.variant * 1000}`);
        framed = [body];
        finished = false;
        break;
      case "length-twice":
        lines.push(
          `Content-Length: ${length}`,
          `Content-Length: ${how.variant % 2 ? length : length + 1}`,
        );
        framed = [body];
        break;
      case "length-and-chunked":
        lines.push(`Content-Length: ${length}`, "Transfer-Encoding: chunked");
        framed = [...chunks(body, how.cuts, 0), Buffer.from(`0${CRLF}${CRLF}`)];
        break;
      case "coding-unknown":
        lines.push(`Transfer-Encoding: ${UNKNOWN_CODINGS[how.variant % UNKNOWN_CODINGS.length]}`);
        framed = [...chunks(body, how.cuts, 0), Buffer.from(`0${CRLF}${CRLF}`)];
        break;
    }
  }
  const head = Buffer.from(`${lines.join(CRLF)}${CRLF}${CRLF}`, "latin1");
  const parts = [head, ...framed].filter((part) => part.length > 0);
  return { parts, method: request.method, finished };
}
