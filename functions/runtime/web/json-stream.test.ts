import { afterEach, describe, expect, it, vi } from "vitest";
import { memoryLogger } from "../../../test/support/memory-logger.js";
import { type RunningServer, startServer } from "../process/server.js";
import { createApp } from "./http.js";
import { jsonArrayResponse } from "./json-stream.js";

/** An app whose only route streams `pages`, as the invoice list streams its pages. */
function streamingApp(pages: () => AsyncIterable<string[]>) {
  const { logger, lines } = memoryLogger();
  const app = createApp(logger, {}, { bodyLimitBytes: 1024 });
  app.get("/pages", (c) => jsonArrayResponse(c, pages()));
  return { app, logger, lines };
}

let server: RunningServer | undefined;
afterEach(async () => {
  await server?.shutdown("test done");
  server = undefined;
  vi.restoreAllMocks();
});

describe("a streamed JSON array", () => {
  it("is complete and valid whatever pages are empty", async () => {
    const { app } = streamingApp(async function* () {
      yield [];
      yield ["1", "2"];
      yield [];
      yield [];
      yield ["3"];
      yield [];
    });
    const response = await app.request("/pages");
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("[1,2,3]");
  });

  it("answers an error, not 200, when the first page cannot be read", async () => {
    const { app } = streamingApp(async function* () {
      yield* [];
      throw new Error("the first page failed");
    });
    const response = await app.request("/pages");
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({
      error: { code: "internal_error", message: "internal error" },
    });
  });

  it("when a later page fails, cuts the connection without the closing bracket and logs it once as JSON", async () => {
    const unstructured = vi.spyOn(console, "error");
    const { app, logger, lines } = streamingApp(async function* () {
      yield ['{"id":1}'];
      throw new Error("the second page failed");
    });
    server = await startServer({ app, port: 0, logger, shutdownTimeoutMs: 1000 });
    const response = await fetch(`http://127.0.0.1:${server.port}/pages`);
    expect(response.status).toBe(200);
    await expect(response.text()).rejects.toThrow();
    await expect
      .poll(() => lines.filter((line) => String(line.msg).startsWith("response cut")))
      .toHaveLength(1);
    expect(unstructured).not.toHaveBeenCalled();
  });
});
