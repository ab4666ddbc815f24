import type { Server } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import pino, { type Logger } from 'pino';
import { createApp } from './app';
import { ConfigError, loadConfig, type Config } from './config';
import { closeRedisClient, createRedisClient } from './redis';

export interface RunningServer {
  server: Server;
  port: number;
  /** Graceful stop: readiness fails, no new connections, in-flight requests finish, Redis quits. */
  stop(): Promise<void>;
}

function createLogger(config: Readonly<Config>): Logger {
  const options = { level: config.logLevel, base: { instance: config.instanceId } };
  // Pretty output only for a person at a terminal.
  if (process.stdout.isTTY) return pino({ ...options, transport: { target: 'pino-pretty', options: { colorize: true } } });
  // Containers get one JSON object per line, buffered: one write(2) per 4 KB of lines, not one per line
  // (docs/benchmarks.md#one-app-process-npm-run-benchapp). pino writes the buffer out when the process exits; every warning
  // and error goes out at once (the hook), app.ts flushes after every request that changed state or failed,
  // and FLUSH_EVERY_MS bounds how long a successful read's line waits.
  return pino(
    {
      ...options,
      hooks: {
        logMethod(args, method, level) {
          method.apply(this, args);
          if (level >= pino.levels.values.warn!) this.flush();
        },
      },
    },
    pino.destination({ dest: 1, sync: false, minLength: 4096 }),
  );
}

/** The longest a buffered log line waits to be written (createLogger). */
const FLUSH_EVERY_MS = 1000;

/** config → Redis → listen. The only place in the app that listens. */
export async function startServer(env: NodeJS.ProcessEnv = process.env): Promise<RunningServer> {
  const config = loadConfig(env);
  const logger = createLogger(config);
  const flusher = setInterval(() => logger.flush(), FLUSH_EVERY_MS).unref();
  if (config.session.usesDevSecret) {
    logger.warn('SESSION_SECRETS is not set: sessions are signed with a public development secret. Set it before exposing this app.');
  }
  const redis = config.store === 'redis' ? createRedisClient(config.redis, logger) : undefined;
  // WAIT holds back everything behind it on its connection: durable writes get a connection of their own.
  const writeRedis = redis && config.session.writes.durability === 'replicated' ? createRedisClient(config.redis, logger.child({ connection: 'writes' })) : undefined;
  const cluster = createApp({ config, logger, redis, writeRedis, processMetrics: true });

  const server = cluster.app.listen(config.port, config.host);
  server.on('connection', (socket) => {
    const loopback = socket.remoteAddress === '127.0.0.1' || socket.remoteAddress === '::1' || socket.remoteAddress === '::ffff:127.0.0.1';
    cluster.metrics.httpConnections.inc({ peer: loopback ? 'loopback' : 'remote' });
  });
  await new Promise<void>((resolve, reject) => server.once('listening', resolve).once('error', reject));
  // Longer than nginx's upstream keepalive_timeout, so nginx never reuses a connection Node just closed.
  server.keepAliveTimeout = config.keepAliveTimeoutMs;
  server.headersTimeout = config.keepAliveTimeoutMs + 1000;
  const port = (server.address() as AddressInfo).port;
  logger.info({ port, store: config.store, writes: config.session.writes.durability }, 'listening');

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      logger.info('shutting down: readiness fails, in-flight requests finish');
      // From here every response says Connection: close (app.ts), so each connection that carries one more
      // request is closed by Node after the answer, with no race with the proxy.
      cluster.startDraining();
      // Stop accepting connections, but leave the idle keep-alive ones open. http.Server#close() would also
      // close those at once (Node ≥ 19), and a connection idle for Node may be carrying a request the proxy
      // has just written: closing it resets it, and nginx answers 502 to a POST it may not retry. With the
      // listener closed, nginx's next new connection to this app is refused, which it retries on another
      // app and which makes it leave this one alone for fail_timeout (10 s).
      const closed = new Promise<void>((resolve) => net.Server.prototype.close.call(server, () => resolve()));
      // After the grace, the proxy has used (and been told to drop) or left the idle connections; close
      // the rest, and then any that turns idle: one whose answer had sent its headers before the stop, so
      // without Connection: close.
      let sweeper: NodeJS.Timeout | undefined;
      const grace = setTimeout(() => {
        server.closeIdleConnections();
        sweeper = setInterval(() => server.closeIdleConnections(), 100);
      }, config.shutdownIdleGraceMs);
      const deadline = setTimeout(() => {
        logger.warn('shutdown deadline reached: closing remaining connections');
        server.closeAllConnections();
      }, config.shutdownTimeoutMs);
      await closed;
      clearTimeout(grace);
      clearInterval(sweeper);
      clearTimeout(deadline);
      await cluster.close();
      await Promise.all([redis, writeRedis].map((client) => client && closeRedisClient(client)));
      logger.info('stopped');
      clearInterval(flusher);
      logger.flush();
    })();
    return stopping;
  };
  return { server, port, stop };
}

if (require.main === module) {
  startServer().then(
    ({ stop }) => {
      for (const signal of ['SIGTERM', 'SIGINT'] as const) {
        process.once(signal, () => {
          stop().then(
            () => process.exit(0),
            () => process.exit(1),
          );
        });
      }
    },
    (err: unknown) => {
      // A bad configuration names the variable and stops the process before anything listens.
      process.stderr.write(`${err instanceof ConfigError ? err.message : String((err as Error)?.stack ?? err)}\n`);
      process.exit(1);
    },
  );
}
