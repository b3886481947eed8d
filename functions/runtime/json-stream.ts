const encoder = new TextEncoder();

/**
 * A JSON array written page by page as the client reads it: each pull fetches the next page,
 * so memory holds one page, not the table. A failure mid-way errors the stream, which cuts the
 * connection instead of ending a truncated array as if it were complete.
 */
export function jsonArrayResponse(pages: AsyncIterable<string[]>): Response {
  const iterator = pages[Symbol.asyncIterator]();
  let opened = false;
  let first = true;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (!opened) {
        opened = true;
        controller.enqueue(encoder.encode("["));
      }
      const next = await iterator.next();
      if (next.done) {
        controller.enqueue(encoder.encode("]"));
        controller.close();
        return;
      }
      if (next.value.length === 0) return;
      controller.enqueue(encoder.encode((first ? "" : ",") + next.value.join(",")));
      first = false;
    },
    async cancel() {
      await iterator.return?.();
    },
  });
  return new Response(body, { headers: { "Content-Type": "application/json" } });
}
