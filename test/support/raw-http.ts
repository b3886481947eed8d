import { connect } from "node:net";

/**
 * Writes `bytes` to a function's port as they are, and resolves with everything it answers
 * until it closes the connection: for requests no HTTP client would send.
 */
export function rawRequest(port: number, bytes: string | Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    const received: Buffer[] = [];
    socket.on("data", (chunk) => received.push(chunk));
    socket.on("error", reject);
    socket.on("close", () => resolve(Buffer.concat(received).toString("latin1")));
    socket.end(bytes);
  });
}

/** Sends the start of a request and hangs up, as a client that goes away mid-body does. */
export function hangUpMidRequest(port: number, bytes: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => {
      socket.write(bytes, () => {
        // Let the server start reading before the connection goes.
        setTimeout(() => socket.destroy(), 50);
      });
    });
    socket.on("error", reject);
    socket.on("close", () => resolve());
  });
}

/** A raw response split into its status, lower-cased headers and body. */
export function parseResponse(raw: string): {
  status: number;
  headers: Record<string, string>;
  body: string;
} {
  const end = raw.indexOf("\r\n\r\n");
  const [statusLine = "", ...lines] = raw.slice(0, end).split("\r\n");
  const headers = Object.fromEntries(
    lines.map((line) => {
      const colon = line.indexOf(":");
      return [line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim()];
    }),
  );
  return { status: Number(statusLine.split(" ")[1]), headers, body: raw.slice(end + 4) };
}
