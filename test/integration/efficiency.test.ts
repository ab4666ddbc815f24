import { promisify } from 'node:util';
import type { Request } from 'express';
import type { SessionData } from 'express-session';
import Redis from 'ioredis';
import { csrfToken } from '../../app/src/session/csrf';
import { measureSessionMemory, TYPICAL_USER_AGENT } from '../../loadtest/tools/session-memory';
import { sleep } from '../../toolkit/time';
import { DEMO_USERS, TestClient } from '../helpers/client';
import { commandCalls, commandsBetween, totalCalls } from '../helpers/commandstats';
import { setSessionCookie } from '../helpers/cookies';
import { startInstance, TEST_SECRET, type TestInstance } from '../helpers/instance';
import { startOwnedRedis, type OwnedRedis } from '../helpers/redis-server';

/*
 * What requests and sessions cost Redis, as Redis itself counts it, on a redis-server of this file's own:
 * INFO commandstats and used_memory are server-wide, and the other files run in parallel on the suite's Redis.
 * Commands are counted by commandstats (those a Lua script runs included). A write is a command Redis
 * flags `write` (COMMAND INFO): SET, DEL, ZADD, ZREM, ZREMRANGEBYSCORE, PEXPIREAT, … also when a script runs
 * it; EVALSHA itself is not a write, what it runs is counted. The instances send no heartbeat (the live view's
 * own cost is measured in live-view.test.ts).
 */
jest.setTimeout(60_000);

let owned: OwnedRedis;
let redis: Redis;
let app: TestInstance;

beforeAll(async () => {
  owned = await startOwnedRedis();
  redis = new Redis(owned.url);
  // Idle 30 min, extended at most once a minute (the defaults, spelled out): no read below extends.
  app = await startInstance({ REDIS_URL: owned.url, INSTANCE_ID: 'efficiency', SESSION_IDLE_TIMEOUT_S: '1800', SESSION_TOUCH_AFTER_S: '60' }, { heartbeat: false });
});
afterAll(async () => {
  await app.close();
  redis.disconnect();
  await owned.destroy();
});

/** How many times Redis ran each command while `act` ran. */
async function commandsDuring(act: () => Promise<void>): Promise<Map<string, number>> {
  const before = await commandCalls(redis);
  await act();
  return commandsBetween(before, await commandCalls(redis));
}

const total = totalCalls;

async function writes(calls: Map<string, number>): Promise<number> {
  const names = [...calls.keys()];
  if (names.length === 0) return 0;
  const infos = (await redis.command('INFO', ...names)) as [string, number, string[]][];
  return names.reduce((sum, name, i) => sum + (infos[i]?.[2].includes('write') ? calls.get(name)! : 0), 0);
}

const summary = (calls: Map<string, number>) => [...calls].map(([name, n]) => `${name}=${n}`).join(' ');

describe('Redis work per request', () => {
  test('when a logged-in client reads its session 200 times, then Redis runs at most 1.05 commands per read', async () => {
    const client = new TestClient();
    await client.login(app, 'alice');
    const statuses: number[] = [];

    const calls = await commandsDuring(async () => {
      for (let i = 0; i < 200; i++) statuses.push((await client.get(app, '/api/session')).status);
    });

    console.log(`200 reads of GET /api/session: ${(total(calls) / 200).toFixed(3)} Redis commands per read (${summary(calls)})`);
    expect(statuses.every((s) => s === 200)).toBe(true);
    expect(calls.get('get')).toBeGreaterThanOrEqual(200); // the count sees the reads
    expect(total(calls) / 200).toBeLessThanOrEqual(1.05);
  });

  test('when requests change nothing (GET session, cart, sessions), then Redis writes at most 0.02 times per request', async () => {
    const laptop = new TestClient('sc.sid', 'laptop');
    const phone = new TestClient('sc.sid', 'phone');
    await laptop.login(app, 'bob');
    await phone.login(app, 'bob');
    await laptop.post(app, '/api/cart/items', { productId: 'tea', quantity: 2 });
    const statuses: number[] = [];

    const calls = await commandsDuring(async () => {
      for (let i = 0; i < 70; i++) {
        for (const path of ['/api/session', '/api/cart', '/api/sessions']) statuses.push((await laptop.get(app, path)).status);
      }
    });
    const written = await writes(calls);

    console.log(`210 no-op requests: ${(written / 210).toFixed(3)} Redis writes per request (${summary(calls)})`);
    expect(statuses.every((s) => s === 200)).toBe(true);
    expect(total(calls)).toBeGreaterThanOrEqual(210);
    expect(written / 210).toBeLessThanOrEqual(0.02);
  });

  test('when requests do change the session, then each counts as at least one write, and a visit is one script that also writes its activity entry', async () => {
    const client = new TestClient();
    await client.login(app, 'carol');
    await client.post(app, '/api/visits'); // the script is in Redis's cache from here: no NOSCRIPT below

    const calls = await commandsDuring(async () => {
      for (let i = 0; i < 10; i++) await client.post(app, '/api/visits');
    });

    console.log(`10 visits: ${summary(calls)}`);
    expect(await writes(calls)).toBeGreaterThanOrEqual(10);
    // One command from the app per visit (the script); the log entry is written inside it (LPUSH, LTRIM).
    expect(calls.get('evalsha')).toBe(10);
    expect(calls.get('lpush')).toBe(10);
    expect(calls.get('ltrim')).toBe(10);
  });
});

describe('Redis memory per session', () => {
  test("when 20 000 typical sessions are stored (a desktop browser's user agent and an IPv4 address; three clicks, a two-item cart), then used_memory grows by at most 512 bytes per session, and a full activity log by at most 256 bytes per entry", async () => {
    const measuring = new Redis(owned.url);

    const result = await measureSessionMemory(measuring, 20_000, TYPICAL_USER_AGENT, 200).finally(() => measuring.disconnect());

    console.log(`20 000 sessions: ${result.sessionBytes.toFixed(1)} B of used_memory per session, ${result.indexBytes.toFixed(1)} B more in the user index, ${result.statsBytes.toFixed(1)} B in the statistics, ${result.recordBytes.toFixed(1)} B per write for its applied-write record (a minute), ${result.logBytes!.toFixed(0)} B for a full 100-entry activity log (200 sessions); stored (${result.sample.length} bytes): ${result.sample}`);
    expect(TYPICAL_USER_AGENT.length).toBeGreaterThanOrEqual(100);
    expect(JSON.parse(result.sample)).toMatchObject({ ua: TYPICAL_USER_AGENT, visits: 3, cart: { tea: 2, mug: 1 } });
    expect(result.sessionBytes).toBeGreaterThan(100); // the measurement sees the sessions
    expect(result.sessionBytes).toBeLessThanOrEqual(512);
    // A write's applied-write record (redis-store.ts) is a small key of its own, gone after a minute.
    expect(result.recordBytes).toBeGreaterThan(50);
    expect(result.recordBytes).toBeLessThanOrEqual(256);
    expect(result.statsBytes).toBeGreaterThan(50); // the statistics hold each live session (stats.ts)
    expect(result.statsBytes).toBeLessThanOrEqual(512);
    // 100 entries of about 160 bytes of JSON each (the typical user agent is 101 characters).
    expect(result.logBytes).toBeGreaterThan(100 * 100);
    expect(result.logBytes).toBeLessThanOrEqual(100 * 256);
    // About 45 s alone, and the file shares the machine with the suite's other files: the measurement must end
    // before the test does, or its writes would still be running while the next test counts commands.
  }, 180_000);
});

describe('the stored session', () => {
  /** A CSRF token as versions before the derived token stored it. */
  const STORED_TOKEN = 'stored-token-from-an-old-version';

  test('when a session is stored, changed and extended, then its blob carries its expiry as the key does and no cookie fields common to every session', async () => {
    const touching = await startInstance({ REDIS_URL: owned.url, INSTANCE_ID: 'efficiency-touch', SESSION_TOUCH_AFTER_S: '1' }, { heartbeat: false });
    try {
      const client = new TestClient();
      const login = await client.login(touching, 'alice');
      const key = `sess:${client.sessionId()}`;
      const atLogin = JSON.parse((await redis.get(key))!);
      const expireAtLogin = await redis.pexpiretime(key);
      await client.post(touching, '/api/visits');
      await client.post(touching, '/api/cart/items', { productId: 'tea', quantity: 2 });
      await sleep(1100);
      const extended = await client.get(touching, '/api/session');
      const afterExtension = JSON.parse((await redis.get(key))!);

      expect(atLogin.cookie).toBeUndefined();
      for (const longName of ['csrfToken', 'createdAt', 'lastSeenAt', 'absoluteExpiresAt', 'createdBy', 'userAgent']) expect(atLogin).not.toHaveProperty(longName);
      expect(atLogin).not.toHaveProperty('csrf');
      expect(login.body.csrfToken).toBe(csrfToken(client.sessionId(), [TEST_SECRET])); // derived from the session id
      expect(atLogin).toMatchObject({
        user: 'u-alice',
        created: Date.parse(login.body.session.createdAt),
        seen: Date.parse(login.body.session.lastSeenAt),
        absolute: Date.parse(login.body.session.absoluteExpiresAt),
        expires: setSessionCookie(login)!.expires,
        visits: 0,
        by: 'efficiency-touch',
        ua: 'jest-test-client',
        ip: '127.0.0.1',
      });
      expect(atLogin.expires).toBe(expireAtLogin);
      expect(extended.status).toBe(200);
      expect(afterExtension).toMatchObject({
        visits: 1,
        cart: { tea: 2 },
        seen: Date.parse(extended.body.lastSeenAt),
        expires: setSessionCookie(extended)!.expires,
      });
      expect(afterExtension.expires).toBeGreaterThan(atLogin.expires);
      expect(afterExtension.expires).toBe(await redis.pexpiretime(key));
    } finally {
      await touching.close();
    }
  });

  test("when a session is created over https (secure: 'auto'), then its blob holds no cookie field either, and a loaded session's cookie is Secure exactly when its request is", async () => {
    const proxied = await startInstance({ REDIS_URL: owned.url, INSTANCE_ID: 'efficiency-https', TRUST_PROXY: '1' }, { heartbeat: false });
    try {
      const client = new TestClient();
      const login = await client.post(proxied, '/api/login', { username: 'bob', password: DEMO_USERS.bob }, { 'x-forwarded-proto': 'https' });
      const sid = client.sessionId();
      const blob = JSON.parse((await redis.get(`sess:${sid}`))!);
      const { store } = proxied.cluster;
      const load = () => promisify(store.get.bind(store))(sid) as Promise<SessionData>;

      // express-session builds req.session from a loaded session with the store's createSession.
      const overHttps = store.createSession({ secure: true } as Request, await load());
      const overHttp = store.createSession({ secure: false } as Request, await load());

      expect(login.status).toBe(200);
      expect(login.headers['set-cookie']?.[0]).toMatch(/; Secure/);
      expect(blob.cookie).toBeUndefined();
      expect(overHttps.cookie).toMatchObject({ secure: true, httpOnly: true, path: '/', sameSite: 'lax' });
      expect(overHttp.cookie.secure).toBe(false);
    } finally {
      await proxied.close();
    }
  });

  test('when a session was stored in the compact shape with its CSRF token and whole user (before both were left out), then it is still read, both its stored token and the derived one are accepted, and it is listed', async () => {
    const client = new TestClient();
    const login = await client.login(app, 'bob');
    const key = `sess:${client.sessionId()}`;
    const current = JSON.parse((await redis.get(key))!);
    await redis.set(key, JSON.stringify({ ...current, user: login.body.user, csrf: STORED_TOKEN }), 'PXAT', current.expires);

    const read = await client.get(app, '/api/session');
    const withStored = await client.post(app, '/api/visits', undefined, { 'x-csrf-token': STORED_TOKEN });
    const withDerived = await client.post(app, '/api/visits', undefined, { 'x-csrf-token': login.body.csrfToken });
    const withWrong = await client.post(app, '/api/visits', undefined, { 'x-csrf-token': 'A'.repeat(STORED_TOKEN.length) });
    const listed = await client.get(app, '/api/sessions');

    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({ user: login.body.user, csrfToken: STORED_TOKEN });
    expect([withStored.status, withDerived.status, withWrong.status]).toEqual([200, 200, 403]);
    expect(withDerived.body.visits).toBe(2);
    expect(listed.body.sessions).toContainEqual(expect.objectContaining({ current: true, handle: login.body.session.handle }));
  });

  test("when a session was stored in express-session's own JSON (before the compact shape), then it is still read, changed, extended and listed", async () => {
    const touching = await startInstance({ REDIS_URL: owned.url, INSTANCE_ID: 'efficiency-legacy', SESSION_TOUCH_AFTER_S: '1' }, { heartbeat: false });
    try {
      const client = new TestClient();
      const login = await client.login(touching, 'carol');
      const key = `sess:${client.sessionId()}`;
      const compact = JSON.parse((await redis.get(key))!);
      // As if stored 10 s ago: due for an extension, which moves the expiry on.
      const storedExpiry = compact.expires - 10_000;
      const legacy = {
        cookie: { originalMaxAge: 1_800_000, expires: new Date(storedExpiry).toISOString(), secure: false, httpOnly: true, path: '/', sameSite: 'lax' },
        user: login.body.user,
        csrfToken: STORED_TOKEN,
        createdAt: compact.created,
        lastSeenAt: compact.seen - 10_000,
        absoluteExpiresAt: compact.absolute,
        visits: 4,
        cart: { mug: 1 },
        createdBy: 'old-app',
        userAgent: 'old-browser',
        ip: '127.0.0.1',
      };
      await redis.set(key, JSON.stringify(legacy), 'PXAT', storedExpiry);
      client.csrfToken = STORED_TOKEN;

      const read = await client.get(touching, '/api/session');
      const stored = JSON.parse((await redis.get(key))!);
      const clicked = await client.post(touching, '/api/visits');
      const listed = await client.get(touching, '/api/sessions');

      expect(read.status).toBe(200);
      expect(read.body).toMatchObject({ user: login.body.user, csrfToken: STORED_TOKEN, visits: 4, cart: { items: [{ productId: 'mug', quantity: 1 }] }, createdBy: 'old-app' });
      const extendedTo = setSessionCookie(read)!.expires!;
      expect(extendedTo).toBeGreaterThan(storedExpiry);
      expect(stored.cookie.expires).toBe(new Date(extendedTo).toISOString());
      expect(stored.lastSeenAt).toBe(Date.parse(read.body.lastSeenAt));
      expect(await redis.pexpiretime(key)).toBe(extendedTo);
      expect(clicked.body.visits).toBe(5);
      expect(listed.body.sessions).toContainEqual(
        expect.objectContaining({ current: true, userAgent: 'old-browser', createdBy: 'old-app', idleExpiresAt: new Date(extendedTo).toISOString() }),
      );
    } finally {
      await touching.close();
    }
  });
});
