import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";

export interface GetTextOptions {
  headers: Record<string, string>;
  /** The only CA the server's certificate may chain to (the cluster's); none: the system's. */
  ca?: string | undefined;
  timeoutMs: number;
  /** A longer answer is cut off with an error: these documents are small. */
  maxBytes: number;
  signal?: AbortSignal | undefined;
}

/**
 * One GET of a small document (the API server's discovery document, an issuer's keys), with
 * node:http(s): no redirect followed, bounded in time and size. Not undici: these requests come
 * at start, and undici is the largest module a function could load.
 */
export function getText(
  url: URL,
  options: GetTextOptions,
): Promise<{ status: number; body: string }> {
  const request = url.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        headers: options.headers,
        timeout: options.timeoutMs,
        ...(options.ca ? { ca: options.ca } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
      },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          body += chunk;
          if (body.length > options.maxBytes) req.destroy(new Error("document too large"));
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`no answer within ${options.timeoutMs} ms`)));
    req.on("error", reject);
    req.end();
  });
}
