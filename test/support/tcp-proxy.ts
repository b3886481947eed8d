import { type AddressInfo, createConnection, createServer, type Socket } from "node:net";

/**
 * A TCP relay between a function and its PostgreSQL server that the test can cut: a database
 * outage (the server gone, a failover) for one function only, on demand, while the server other
 * test files share keeps running. While cut, open connections are reset and new ones refused,
 * as a stopped PostgreSQL would; restoring listens on the same port again.
 */
export async function startTcpProxy(targetUrl: string) {
  const target = new URL(targetUrl);
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = createConnection(Number(target.port), target.hostname);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
      socket.on("error", () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => {
        server.off("error", reject);
        resolve();
      });
    });
  await listen(0);
  const port = (server.address() as AddressInfo).port;
  const url = new URL(targetUrl);
  url.hostname = "127.0.0.1";
  url.port = String(port);
  const stopListening = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return {
    /** The database URL, through the relay. */
    url: url.toString(),
    cut: async () => {
      const closed = stopListening();
      for (const socket of sockets) socket.resetAndDestroy();
      await closed;
    },
    restore: async () => {
      if (!server.listening) await listen(port);
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      if (server.listening) await stopListening();
    },
  };
}
