import type { IncomingMessage, Server } from "node:http";
import type { Duplex } from "node:stream";

/**
 * Node stops parsing a connection at a request that asks to switch protocols (Connection:
 * upgrade), even with nothing on the server to take the switch: that request's body and every
 * request after it on the connection would never be read, and go unanswered. These servers never
 * switch, and may ignore the ask (RFC 9110 section 7.8): the request goes back to a parser of its
 * own without it, once the answers to the requests before it on the connection are out (Node's
 * http docs: "connection" may be emitted to hand the server a socket).
 */
export function ignoreUpgrades(server: Server): void {
  const answering = new WeakMap<Duplex, number>();
  const whenAnswered = new WeakMap<Duplex, () => void>();
  server.on("request", (request: IncomingMessage, response) => {
    const socket = request.socket;
    answering.set(socket, (answering.get(socket) ?? 0) + 1);
    response.once("close", () => {
      const left = (answering.get(socket) ?? 1) - 1;
      answering.set(socket, left);
      if (left === 0) whenAnswered.get(socket)?.();
    });
  });
  server.on("upgrade", (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    // Node has unhooked its parser and its error listener: hold what arrives until a new parser
    // reads it, in order, and let a client's reset meanwhile close the socket, not the process.
    socket.on("error", () => socket.destroy());
    socket.pause();
    const parseAgain = () => {
      whenAnswered.delete(socket);
      socket.unshift(Buffer.concat([headWithoutUpgrade(request), head]));
      server.emit("connection", socket);
      socket.resume();
    };
    if ((answering.get(socket) ?? 0) === 0) parseAgain();
    else whenAnswered.set(socket, parseAgain);
  });
}

/** A request's head as it came, less its ask to switch protocols. */
function headWithoutUpgrade(request: IncomingMessage): Buffer {
  const lines = [`${request.method} ${request.url} HTTP/${request.httpVersion}`];
  const raw = request.rawHeaders;
  for (let at = 0; at < raw.length; at += 2) {
    const [name = "", value = ""] = [raw[at], raw[at + 1]];
    const header = name.toLowerCase();
    if (header === "upgrade") continue;
    if (header === "connection") {
      const kept = value
        .split(",")
        .map((token) => token.trim())
        .filter((token) => token !== "" && token.toLowerCase() !== "upgrade");
      if (kept.length > 0) lines.push(`${name}: ${kept.join(", ")}`);
      continue;
    }
    lines.push(`${name}: ${value}`);
  }
  // Header values arrive decoded as Latin-1: encoded back the same way, they are the bytes sent.
  return Buffer.from(`${lines.join("\r\n")}\r\n\r\n`, "latin1");
}
