import { Agent, createServer, type IncomingMessage, request, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A stand-in for Knative's activator in front of a Service's replicas, for the lanes' requests
 * (docs/billing.md, "Lanes"): a lane request goes to a replica that has none in flight, as
 * `containerConcurrency: 1` makes Knative do, and waits here, first come first served, while every
 * replica has one; any other request goes to the replicas in turn. A caller that hangs up is hung
 * up on upstream, as Knative cancels a request whose client went away, and a replica that dies
 * mid-request answers 502.
 */
export interface Activator {
  url: string;
  /** Lane requests forwarded so far, by replica URL. */
  lanesSent: Map<string, number>;
  /** Lane requests waiting for a replica with none in flight. */
  readonly queued: number;
  /** Routes to a replica from now on (its pod is ready). */
  add: (replica: string) => void;
  /** Stops routing to a replica (its pod is gone). */
  remove: (replica: string) => void;
  close: () => Promise<void>;
}

const LANE_PATH = /^\/rest\/v1\/billing\/runs\/\d+\/lanes\/\d+/;

export async function startActivator(): Promise<Activator> {
  const live: string[] = [];
  const busy = new Set<string>();
  const queue: Array<(replica: string) => void> = [];
  const lanesSent = new Map<string, number>();
  const agent = new Agent({ keepAlive: true });
  let turn = 0;

  const free = (replica: string) => {
    busy.delete(replica);
    const next = queue.shift();
    if (next && live.includes(replica)) {
      busy.add(replica);
      next(replica);
    } else if (next) queue.unshift(next);
  };
  const laneReplica = (): Promise<string> => {
    const idle = live.find((replica) => !busy.has(replica));
    if (idle) {
      busy.add(idle);
      return Promise.resolve(idle);
    }
    return new Promise((resolve) => queue.push(resolve));
  };

  const forward = (replica: string, incoming: IncomingMessage, outgoing: ServerResponse) =>
    new Promise<void>((done) => {
      const target = new URL(incoming.url ?? "/", replica);
      const upstream = request(
        target,
        { method: incoming.method, headers: incoming.headers, agent },
        (answer) => {
          outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(outgoing);
          answer.on("end", () => done());
          answer.on("error", () => {
            outgoing.destroy();
            done();
          });
        },
      );
      upstream.on("error", () => {
        if (!outgoing.headersSent) {
          outgoing.writeHead(502, { "content-type": "application/json" });
          outgoing.end('{"error":{"code":"bad_gateway","message":"the replica went away"}}');
        } else outgoing.destroy();
        done();
      });
      // The caller hung up before the answer was complete: so does the activator, upstream.
      outgoing.on("close", () => {
        if (!outgoing.writableFinished) upstream.destroy();
        done();
      });
      incoming.pipe(upstream);
    });

  const server = createServer(async (incoming, outgoing) => {
    if (LANE_PATH.test(incoming.url ?? "")) {
      const replica = await laneReplica();
      lanesSent.set(replica, (lanesSent.get(replica) ?? 0) + 1);
      await forward(replica, incoming, outgoing);
      free(replica);
      return;
    }
    const replica = live[turn++ % live.length] as string;
    await forward(replica, incoming, outgoing);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    lanesSent,
    get queued() {
      return queue.length;
    },
    add: (replica) => {
      live.push(replica);
      const next = queue.shift();
      if (next) {
        busy.add(replica);
        next(replica);
      }
    },
    remove: (replica) => {
      live.splice(live.indexOf(replica), 1);
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        agent.destroy();
        server.close(() => resolve());
      }),
  };
}
