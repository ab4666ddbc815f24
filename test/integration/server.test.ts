import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { startServer, type RunningServer } from '../../app/src/server';
import { TEST_SECRET, testRedisUrl } from '../helpers/instance';

/** The process entry: keep-alive settings, graceful stop and the refusal of a bad configuration. */
jest.setTimeout(30_000);

const ROOT = path.resolve(__dirname, '../..');
/** How long a stopping server leaves idle keep-alive connections open (SHUTDOWN_IDLE_GRACE_MS). */
const GRACE_MS = 1000;

/** A raw HTTP/1.1 connection, so the test decides exactly when each byte of a request is sent. */
class RawConnection {
  readonly socket: net.Socket;
  private received = '';
  readonly closed: Promise<void>;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.received += chunk;
    });
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
  }

  static open(port: number): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => resolve(new RawConnection(socket)));
      socket.once('error', reject);
    });
  }

  write(text: string): void {
    this.socket.write(text);
  }

  /** Resolves with the next complete response on this connection, and consumes it (responses here carry Content-Length). */
  async response(): Promise<{ status: number; headers: string; body: string }> {
    for (;;) {
      const end = this.received.indexOf('\r\n\r\n');
      if (end >= 0) {
        const headers = this.received.slice(0, end);
        const length = Number(/content-length: (\d+)/i.exec(headers)?.[1] ?? 0);
        if (this.received.length >= end + 4 + length) {
          const body = this.received.slice(end + 4, end + 4 + length);
          this.received = this.received.slice(end + 4 + length);
          return { status: Number(headers.split(' ')[1]), headers, body };
        }
      }
      await new Promise((resolve) => this.socket.once('data', resolve));
    }
  }
}

const refused = (port: number) =>
  new Promise<string>((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });

describe('startServer', () => {
  let running: RunningServer | undefined;
  const connections: RawConnection[] = [];

  beforeEach(async () => {
    running = await startServer({
      PORT: '0',
      HOST: '127.0.0.1',
      REDIS_URL: testRedisUrl(),
      LOG_LEVEL: 'silent',
      SESSION_SECRETS: TEST_SECRET,
      INSTANCE_ID: 'server-test',
      SHUTDOWN_TIMEOUT_MS: '20000',
      SHUTDOWN_IDLE_GRACE_MS: String(GRACE_MS),
    });
  });
  afterEach(async () => {
    for (const c of connections.splice(0)) c.socket.destroy();
    await running?.stop();
    running = undefined;
  });

  test('when started, then its keep-alive timeout outlasts a proxy’s (65 s) and headers wait a little longer', () => {
    expect(running!.server.keepAliveTimeout).toBe(65_000);
    expect(running!.server.headersTimeout).toBeGreaterThan(65_000);
  });

  test('when stopped with an idle keep-alive connection and a request in flight, then new connections are refused at once, the request completes with 200 and Connection: close, the idle connection is closed only after the grace, and stop() resolves', async () => {
    const { server, port } = running!;
    const idle = await RawConnection.open(port);
    connections.push(idle);
    idle.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n');
    const first = await idle.response();
    const busy = await RawConnection.open(port);
    connections.push(busy);
    const body = JSON.stringify({ username: 'alice', password: 'wonderland' });
    const requestStarted = new Promise((resolve) => server.once('request', resolve));
    busy.write(`POST /api/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 10)}`);
    await requestStarted; // the server has the request; its body is still on the way

    const stopAt = Date.now();
    const stopping = running!.stop();
    let stopped = false;
    void stopping.then(() => {
      stopped = true;
    });
    const newConnection = await refused(port);
    busy.write(body.slice(10));
    const inFlight = await busy.response();
    await busy.closed;
    const busyClosedAfter = Date.now() - stopAt;
    await idle.closed;
    const idleClosedAfter = Date.now() - stopAt;
    const stoppedBeforeTheGrace = stopped && idleClosedAfter < GRACE_MS - 50;
    await stopping;
    const stopTook = Date.now() - stopAt;
    running = undefined;

    expect(first.status).toBe(200);
    expect(first.headers).not.toMatch(/connection: close/i); // it really was a keep-alive connection
    expect(newConnection).toBe('ECONNREFUSED');
    expect(inFlight.status).toBe(200);
    expect(inFlight.headers).toMatch(/connection: close/i);
    expect(JSON.parse(inFlight.body).user.username).toBe('alice');
    expect(busyClosedAfter).toBeLessThan(GRACE_MS); // closed after its answer, not by the grace's sweep
    expect(idleClosedAfter).toBeGreaterThanOrEqual(GRACE_MS - 50); // left open for the proxy during the grace
    expect(stoppedBeforeTheGrace).toBe(false); // stop() waits for the idle connection
    expect(stopTook).toBeGreaterThanOrEqual(GRACE_MS - 50);
    expect(stopTook).toBeLessThan(GRACE_MS + 2000); // well before the 20 s deadline
  });

  test('when a proxy sends one more request on a kept-alive connection while the server stops, then it is answered 200 with Connection: close and that connection is closed after the answer', async () => {
    const { port } = running!;
    const kept = await RawConnection.open(port);
    connections.push(kept);
    kept.write('GET /api/ping HTTP/1.1\r\nHost: localhost\r\n\r\n');
    const before = await kept.response();

    const stopAt = Date.now();
    const stopping = running!.stop();
    kept.write('GET /api/ping HTTP/1.1\r\nHost: localhost\r\n\r\n');
    const during = await kept.response();
    await kept.closed;
    const closedAfter = Date.now() - stopAt;
    await stopping;
    running = undefined;

    expect(before.status).toBe(200);
    expect(before.headers).not.toMatch(/connection: close/i);
    expect(during.status).toBe(200);
    expect(during.headers).toMatch(/connection: close/i);
    expect(closedAfter).toBeLessThan(GRACE_MS);
  });
});

describe('the server process', () => {
  test('when the configuration is bad, then it exits with code 1 and stderr names the variable', async () => {
    const child = spawn(path.join(ROOT, 'node_modules/.bin/tsx'), ['app/src/server.ts'], {
      cwd: ROOT,
      env: { ...process.env, SESSION_POLICY: 'bogus', PORT: '0', LOG_LEVEL: 'silent' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);

    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    clearTimeout(killer);

    expect(code).toBe(1);
    expect(stderr).toContain('SESSION_POLICY');
  });
});
