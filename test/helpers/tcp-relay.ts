import net from 'node:net';

/** What a cut connection carried: the bytes that armed the cut, and Redis's reply, which never reached the client. */
export interface Cut {
  sent: string;
  reply: string;
}

/**
 * A TCP relay on a loopback port of its own, between a client (the app's ioredis) and a Redis: every connection
 * the client opens, its reconnections too, is forwarded byte for byte over a connection of its own to the target.
 * It can cut one connection at the worst moment for a write: after the command reached Redis and ran, before
 * its reply got back.
 */
export interface TcpRelay {
  port: number;
  /** Connections accepted so far. */
  accepted(): number;
  /**
   * Arms a one-shot cut: the first client→Redis data in which `command` matches is forwarded to Redis, and the
   * first data Redis sends back on that connection is dropped and both sockets of it destroyed. Resolves then.
   * Assumes nothing else is in flight on that connection, so that first data is the command's own reply.
   */
  cutAfterReply(command: RegExp): Promise<Cut>;
  close(): Promise<void>;
}

interface Trap {
  command: RegExp;
  resolve: (cut: Cut) => void;
}

export async function startTcpRelay(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpRelay> {
  const sockets = new Set<net.Socket>();
  let armed: Trap | undefined;
  let accepted = 0;

  const server = net.createServer((client) => {
    accepted++;
    const upstream = net.connect(targetPort, targetHost);
    for (const [socket, other] of [[client, upstream], [upstream, client]] as const) {
      sockets.add(socket);
      socket.on('error', () => socket.destroy());
      socket.on('close', () => {
        sockets.delete(socket);
        other.destroy();
      });
    }
    let sprung: (Trap & { sent: string }) | undefined;
    client.on('data', (chunk) => {
      const text = chunk.toString('latin1');
      if (armed && !sprung && armed.command.test(text)) {
        sprung = { ...armed, sent: text };
        armed = undefined;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk) => {
      if (!sprung) {
        client.write(chunk);
        return;
      }
      client.destroy();
      upstream.destroy();
      sprung.resolve({ sent: sprung.sent, reply: chunk.toString('latin1') });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });

  return {
    port: (server.address() as net.AddressInfo).port,
    accepted: () => accepted,
    cutAfterReply: (command) => new Promise<Cut>((resolve) => {
      armed = { command, resolve };
    }),
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
