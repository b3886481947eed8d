import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import {
  answeredCall,
  attemptOutcome,
  type CallResult,
  chargeEnd,
  failedCall,
} from "./call-result.js";

const answer = (status: number, body: string | Buffer, headers: Record<string, string> = {}) =>
  answeredCall(
    { kind: "response", status, headers, bytes: Buffer.isBuffer(body) ? body : Buffer.from(body) },
    Date.parse("2026-02-01T00:00:00Z"),
  );
const limits = { deadlineMs: 3000, maxBytes: 65_536 };
const failed = (state: {
  written: boolean;
  expired?: boolean;
  tooLarge?: boolean;
  error?: unknown;
}) =>
  failedCall(
    { kind: "failed", expired: false, tooLarge: false, error: new Error("x"), ...state },
    limits,
  );

describe("an answer from the provider", () => {
  it("2xx with result true is PAID, its charge id kept", () => {
    expect(answer(200, '{"result":true,"charge_id":"ch_1"}')).toEqual({
      kind: "answer",
      outcome: "PAID",
      status: 200,
      chargeId: "ch_1",
      error: null,
      declineReason: null,
    });
  });

  it("2xx with result false is DECLINED, with the reason only when it is a short token", () => {
    const declined = answer(200, '{"result":"FALSE","reason":"insufficient_funds"}');
    expect(declined).toMatchObject({ kind: "answer", outcome: "DECLINED" });
    expect(declined).toMatchObject({ declineReason: "insufficient_funds" });
    expect(answer(200, '{"result":false,"reason":"Card stolen!"}')).toMatchObject({
      outcome: "DECLINED",
      declineReason: null,
    });
  });

  it("2xx that is not JSON, or has no boolean result, is unknown: it may have charged", () => {
    expect(answer(200, "<html>ok</html>")).toMatchObject({ kind: "unknown", status: 200 });
    expect(answer(200, '{"result":"yes"}')).toMatchObject({
      kind: "unknown",
      error: "answer has no boolean result",
    });
  });

  it("a gzip answer is read; one that cannot be decoded is unknown", () => {
    const zipped = gzipSync('{"result":true}');
    expect(answer(200, zipped, { "content-encoding": "gzip" })).toMatchObject({ outcome: "PAID" });
    expect(answer(200, "not gzip", { "content-encoding": "gzip" })).toMatchObject({
      kind: "unknown",
    });
  });

  it("429 is unknown, with Retry-After in seconds or as a date, in milliseconds", () => {
    expect(answer(429, "{}", { "retry-after": "2" })).toMatchObject({
      kind: "unknown",
      status: 429,
      retryAfterMs: 2000,
    });
    expect(answer(429, "{}", { "retry-after": "Sun, 01 Feb 2026 00:00:03 GMT" })).toMatchObject({
      retryAfterMs: 3000,
    });
    expect(answer(429, "{}", { "retry-after": "soon" })).toMatchObject({
      retryAfterMs: undefined,
    });
  });

  it("5xx is unknown, naming the provider's message", () => {
    expect(answer(503, '{"error":{"code":"x","message":"ledger unavailable"}}')).toMatchObject({
      kind: "unknown",
      status: 503,
      error: "HTTP 503: ledger unavailable",
    });
  });

  it("any other status is the provider refusing the request: REJECTED", () => {
    expect(answer(400, '{"error":{"message":"amount must be positive"}}')).toEqual({
      kind: "answer",
      outcome: "REJECTED",
      status: 400,
      chargeId: null,
      error: "HTTP 400: amount must be positive",
      declineReason: null,
    });
  });
});

describe("a call that got no whole answer", () => {
  it("after the request was written is unknown: the deadline, an answer too large, a reset", () => {
    expect(failed({ written: true, expired: true })).toEqual({
      kind: "unknown",
      status: null,
      error: "no answer within 3000 ms",
      retryAfterMs: undefined,
    });
    expect(failed({ written: true, tooLarge: true })).toMatchObject({
      kind: "unknown",
      error: "answer larger than 65536 bytes",
    });
    const reset = Object.assign(new Error("socket closed"), { code: "ECONNRESET" });
    expect(failed({ written: true, error: reset })).toMatchObject({
      kind: "unknown",
      error: "ECONNRESET: socket closed",
    });
  });

  it("before the request was written is not sent: nothing can have been charged", () => {
    expect(failed({ written: false, expired: true })).toEqual({
      kind: "not-sent",
      status: null,
      error: "not sent within 3000 ms (no connection)",
      retryAfterMs: undefined,
    });
    const refused = Object.assign(new Error("connect refused"), { code: "ECONNREFUSED" });
    expect(failed({ written: false, error: refused })).toMatchObject({ kind: "not-sent" });
  });
});

describe("what a call means for the charge", () => {
  const paid: CallResult = answer(200, '{"result":true}');
  const unknownOutcome: CallResult = answer(503, "{}");
  const notSent: CallResult = failed({ written: false });
  const keys = { idempotent: true, retries: 3 };
  const noKeys = { idempotent: false, retries: 3 };

  it("an answer ends it, retries left or not", () => {
    expect(chargeEnd(paid, 0, keys)).toBe("PAID");
    expect(chargeEnd(paid, 0, noKeys)).toBe("PAID");
  });

  it("an unknown outcome is asked again only where keys are honoured; else it waits for a person", () => {
    expect(chargeEnd(unknownOutcome, 0, keys)).toBeUndefined();
    expect(attemptOutcome(unknownOutcome, true)).toBe("UNKNOWN");
    expect(chargeEnd(unknownOutcome, 0, noKeys)).toBe("OUTCOME_UNKNOWN");
    expect(attemptOutcome(unknownOutcome, false)).toBe("OUTCOME_UNKNOWN");
  });

  it("a call not sent is tried again even where keys are ignored: nothing was charged", () => {
    expect(chargeEnd(notSent, 0, noKeys)).toBeUndefined();
    expect(attemptOutcome(notSent, false)).toBe("NOT_SENT");
  });

  it("retries end at the limit with NETWORK_ERROR", () => {
    expect(chargeEnd(unknownOutcome, 2, keys)).toBeUndefined();
    expect(chargeEnd(unknownOutcome, 3, keys)).toBe("NETWORK_ERROR");
    expect(chargeEnd(notSent, 3, noKeys)).toBe("NETWORK_ERROR");
  });
});
