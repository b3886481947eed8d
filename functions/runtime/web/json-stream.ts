import type { Context } from "hono";
import type { AppEnv } from "./app-env.js";

const encoder = new TextEncoder();

/**
 * A JSON array written page by page as the client reads it, so memory holds one page, not the
 * table. The first page is fetched before the status is committed: a database that is down
 * answers 503 like any other route, not 200 and a lone `[`. A failure after that cannot change
 * the status any more; it is logged once and the connection is cut without the closing `]`, so
 * no client takes a truncated array for a complete one.
 */
export async function jsonArrayResponse(
  c: Context<AppEnv>,
  pages: AsyncIterable<string[]>,
): Promise<Response> {
  const iterator = pages[Symbol.asyncIterator]();
  const first = await iterator.next();
  const log = c.get("log");
  const outgoing = c.env?.outgoing;

  async function* chunks(): AsyncGenerator<Uint8Array> {
    let page = first;
    let separator = "";
    try {
      yield encoder.encode("[");
      while (!page.done) {
        // An empty page writes nothing: the loop asks for the next, so a read never waits forever.
        if (page.value.length > 0) {
          yield encoder.encode(separator + page.value.join(","));
          separator = ",";
        }
        page = await iterator.next();
      }
      yield encoder.encode("]");
    } catch (error) {
      log.error({ err: error }, "response cut: the array could not be completed");
      // Cut the connection ourselves: an errored stream would also be reported, unstructured,
      // by the HTTP adapter. Without a connection (an in-process request) error the stream.
      if (!outgoing) throw error;
      outgoing.destroy();
    } finally {
      await iterator.return?.();
    }
  }

  return new Response(ReadableStream.from(chunks()), {
    headers: { "Content-Type": "application/json" },
  });
}
