import { randomBytes } from 'node:crypto';
import { sign } from 'cookie-signature';
import Redis from 'ioredis';
import request, { type Response } from 'supertest';
import { sleep } from '../../toolkit/time';
import { TestClient } from '../helpers/client';
import { TEST_SECRET, startInstance, type TestInstance } from '../helpers/instance';
import { startOwnedRedis, type OwnedRedis } from '../helpers/redis-server';

/*
 * Redis stopped under a running app: requests that need it get 503 fast, liveness stays green, and the
 * same app recovers on its own when Redis returns. The owned Redis keeps no data (throw-away storage), so
 * sessions are gone after the restart: the point is the app, not the data.
 */
jest.setTimeout(30_000);

const FAST_MS = 1500;
const RECOVERY_MS = 5000;

let owned: OwnedRedis;
let app: TestInstance | undefined;

beforeEach(async () => {
  owned = await startOwnedRedis();
});
afterEach(async () => {
  await app?.close();
  app = undefined;
  await owned.destroy();
});

async function timed(what: string, send: () => Promise<Response>): Promise<{ res: Response; ms: number }> {
  const started = performance.now();
  const res = await send();
  const ms = Math.round(performance.now() - started);
  console.log(`Redis down: ${what} → ${res.status} ${res.body?.error ?? ''} in ${ms} ms`);
  return { res, ms };
}

/** Retries `attempt` until it answers 200 or the deadline passes; resolves with the last answer and the time taken. */
async function until200(attempt: () => Promise<Response>, deadlineMs: number): Promise<{ res: Response; ms: number }> {
  const started = Date.now();
  for (;;) {
    const res = await attempt();
    if (res.status === 200 || Date.now() - started > deadlineMs) return { res, ms: Date.now() - started };
    await sleep(100);
  }
}

describe('Redis outage (redis store)', () => {
  test('when Redis stops under a running app, then requests that need it get 503 redis_unavailable fast, liveness stays up, and the same app recovers when Redis returns', async () => {
    app = await startInstance({ REDIS_URL: owned.url, INSTANCE_ID: 'outage' });
    const client = new TestClient();
    await client.login(app);
    await client.post(app, '/api/visits');
    const stranger = new TestClient();

    await owned.stop();
    const session = await timed('GET /api/session', () => client.get(app!, '/api/session'));
    const visits = await timed('POST /api/visits', () => client.post(app!, '/api/visits'));
    const login = await timed('POST /api/login', () => stranger.post(app!, '/api/login', { username: 'bob', password: 'builder-bob' }));
    const cluster = await timed('GET /api/cluster', () => request(app!.url).get('/api/cluster'));
    const readyDown = await request(app.url).get('/readyz');
    const healthDown = await request(app.url).get('/healthz');

    for (const { res, ms } of [session, visits, login, cluster]) {
      expect(res.status).toBe(503);
      expect(res.body.error).toBe('redis_unavailable');
      expect(res.headers['x-served-by']).toBe('outage');
      expect(ms).toBeLessThan(FAST_MS);
    }
    expect(session.res.headers['retry-after']).toBe('1');
    expect(client.cookie).toBeDefined(); // an outage is not a logout: the cookie is kept
    expect(stranger.cookie).toBeUndefined();
    expect(readyDown.status).toBe(503);
    expect(readyDown.body.store).toBe('unavailable');
    expect(healthDown.status).toBe(200);

    await owned.start();
    const relogin = await until200(() => client.post(app!, '/api/login', { username: 'alice', password: 'wonderland' }), RECOVERY_MS);
    console.log(`Redis back: login answered 200 after ${relogin.ms} ms`);
    client.csrfToken = relogin.res.body.csrfToken;
    const visitAfter = await client.post(app, '/api/visits');
    const readyAfter = await request(app.url).get('/readyz');
    const clusterAfter = await request(app.url).get('/api/cluster');

    expect(relogin.res.status).toBe(200);
    expect(visitAfter.status).toBe(200);
    expect(visitAfter.body.visits).toBe(1); // a fresh session: the throw-away Redis came back empty
    expect(readyAfter.status).toBe(200);
    expect(clusterAfter.status).toBe(200);
  });

  test('when Redis stops answering on a connection that stays open, then /readyz answers 503 within the command timeout, and 200 once it answers again', async () => {
    app = await startInstance({ REDIS_URL: owned.url, INSTANCE_ID: 'outage-silent' });
    const admin = new Redis(owned.url);
    try {
      expect((await request(app.url).get('/readyz')).status).toBe(200);
      // Every client but this one waits, connected, for 3 s: what a partition looks like to the app's client.
      await admin.call('CLIENT', 'PAUSE', '3000', 'ALL');
      const silent = await timed('GET /readyz, Redis silent', () => request(app!.url).get('/readyz'));
      await sleep(3200);
      const after = await request(app.url).get('/readyz');

      expect(silent.res.status).toBe(503);
      expect(silent.res.body.store).toBe('unavailable');
      expect(silent.ms).toBeLessThan(FAST_MS);
      expect(after.status).toBe(200);
    } finally {
      await admin.quit();
    }
  });

  test('when Redis is stopped for longer, then every request still fails fast instead of queueing, and nothing hangs', async () => {
    app = await startInstance({ REDIS_URL: owned.url, INSTANCE_ID: 'outage-long' });
    const client = new TestClient();
    await client.login(app);

    await owned.stop();
    await sleep(2500); // the client is now deep in its reconnect back-off
    const started = performance.now();
    const answers = await Promise.all(Array.from({ length: 20 }, () => client.post(app!, '/api/visits')));
    const ms = Math.round(performance.now() - started);
    console.log(`Redis down 2.5 s: 20 parallel POST /api/visits all answered in ${ms} ms`);

    expect(answers.map((r) => r.status)).toEqual(Array(20).fill(503));
    expect(ms).toBeLessThan(FAST_MS);
    expect((await request(app.url).get('/healthz')).status).toBe(200);
  });

  test('when Redis is down while an instance starts, then it answers 503 instead of hanging, and recovers once Redis appears', async () => {
    await owned.stop();
    app = await startInstance({ REDIS_URL: owned.url, INSTANCE_ID: 'outage-cold' }, { waitForRedis: false });
    const client = new TestClient();
    const someCookie = encodeURIComponent(`s:${sign(randomBytes(24).toString('base64url'), TEST_SECRET)}`);

    const login = await timed('cold start: POST /api/login', () => client.post(app!, '/api/login', { username: 'carol', password: 'carol-sings' }));
    const session = await timed('cold start: GET /api/session with a cookie', () => request(app!.url).get('/api/session').set('cookie', `sc.sid=${someCookie}`));
    const cluster = await timed('cold start: GET /api/cluster', () => request(app!.url).get('/api/cluster'));
    const readyDown = await request(app.url).get('/readyz');
    const healthDown = await request(app.url).get('/healthz');

    for (const { res, ms } of [login, session, cluster]) {
      expect(res.status).toBe(503);
      expect(res.body.error).toBe('redis_unavailable');
      expect(ms).toBeLessThan(FAST_MS);
    }
    expect(readyDown.status).toBe(503);
    expect(healthDown.status).toBe(200);

    await owned.start();
    const relogin = await until200(() => client.post(app!, '/api/login', { username: 'carol', password: 'carol-sings' }), RECOVERY_MS);
    console.log(`cold start, Redis back: login answered 200 after ${relogin.ms} ms`);
    client.csrfToken = relogin.res.body.csrfToken;

    expect(relogin.res.status).toBe(200);
    expect((await client.post(app, '/api/visits')).body.visits).toBe(1);
    expect((await request(app.url).get('/readyz')).status).toBe(200);
  });
});
