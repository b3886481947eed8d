import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { AnswerGate } from "./stand-in.js";

interface ReceivedEvent {
  id: string;
  type: string;
  source: string;
  subject: string | undefined;
  time: string | undefined;
  headers: IncomingHttpHeaders;
  data: unknown;
}

/**
 * A CloudEvents sink on a local port, standing in for the Broker's ingress that K_SINK points at
 * on Knative: it records every binary-mode event it receives (before answering) and answers 202,
 * as the ingress does with an InMemoryChannel. It can refuse the next `failNext` deliveries with
 * 503 and hold its answers back (`gate`).
 */
export async function startEventSink() {
  const received: ReceivedEvent[] = [];
  const gate = new AnswerGate();
  const control = { failNext: 0 };
  const server = createServer((request, response) => {
    let text = "";
    request.on("data", (chunk) => (text += chunk));
    request.on("end", async () => {
      const header = (name: string) => {
        const value = request.headers[name];
        return typeof value === "string" ? value : undefined;
      };
      received.push({
        id: header("ce-id") ?? "",
        type: header("ce-type") ?? "",
        source: header("ce-source") ?? "",
        subject: header("ce-subject"),
        time: header("ce-time"),
        headers: request.headers,
        data: JSON.parse(text),
      });
      let status = 202;
      if (control.failNext > 0) {
        control.failNext--;
        status = 503;
      }
      await gate.pass(undefined);
      if (response.destroyed) return;
      response.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    received,
    gate,
    control,
    close: () =>
      new Promise<void>((resolve) => {
        gate.release();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export type EventSink = Awaited<ReturnType<typeof startEventSink>>;
