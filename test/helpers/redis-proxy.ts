import net, { type AddressInfo } from 'node:net';

/**
 * A TCP proxy in front of the Redis: an instance that reaches Redis through it can be cut off, which to Redis
 * and to the other instances looks like a kill (its heartbeats stop), and restored, which ends its outage.
 */
export async function redisProxy(port: number) {
  const sockets = new Set<net.Socket>();
  let server: net.Server | undefined;
  const listen = (at: number) =>
    new Promise<number>((resolve, reject) => {
      const s = net.createServer((client) => {
        const upstream = net.connect(port, '127.0.0.1');
        for (const socket of [client, upstream]) {
          sockets.add(socket);
          socket.on('error', () => undefined).on('close', () => {
            sockets.delete(socket);
            client.destroy();
            upstream.destroy();
          });
        }
        client.pipe(upstream).pipe(client);
      });
      server = s.once('error', reject);
      s.listen(at, '127.0.0.1', () => resolve((s.address() as AddressInfo).port));
    });
  const proxyPort = await listen(0);
  return {
    url: `redis://127.0.0.1:${proxyPort}`,
    cut: async () => {
      const closed = new Promise<void>((resolve) => server!.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
    restore: async () => {
      await listen(proxyPort);
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => (server?.listening ? server.close(() => resolve()) : resolve()));
    },
  };
}
