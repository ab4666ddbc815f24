import Redis from 'ioredis';
import { sleep, sleepUntil } from '../../toolkit/time';
import { TestClient } from '../helpers/client';
import { setSessionCookie } from '../helpers/cookies';
import { TEST_KEYS, instancesForFile, testRedisUrl } from '../helpers/instance';

/*
 * Idle, rolling and absolute expiry with short timeouts. Expiry instants are whole seconds (the cookie's
 * Expires has second precision), so a session with a 2 s idle window lives between 2 and 3 s after its
 * last extension: the tests read the cookie's Expires and wait relative to it instead of guessing.
 * The tests mostly sleep, so they run concurrently to keep the file short.
 */
const TICK_MS = 700;

jest.setTimeout(20_000);

let redis: Redis;
const instance = instancesForFile();

beforeAll(() => {
  redis = new Redis(testRedisUrl());
});
afterAll(async () => {
  await redis.quit();
});

describe.each([
  { mode: 'redis', env: { SESSION_STORE: 'redis' } },
  { mode: 'memory', env: { SESSION_STORE: 'memory' } },
])('session expiry ($mode store)', ({ mode, env }) => {
  test.concurrent('when a session is left idle past its idle timeout, then 401 session_expired and the cookie is cleared', async () => {
    const app = await instance({ ...env, SESSION_IDLE_TIMEOUT_S: '2' });
    const client = new TestClient();
    const login = await client.login(app);
    const expiresAt = setSessionCookie(login)!.expires!;
    const staleCookie = client.cookie!;

    await sleepUntil(expiresAt + 500);
    const res = await client.get(app, '/api/session');

    expect(expiresAt - Date.parse(login.body.session.createdAt)).toBeGreaterThanOrEqual(2000);
    expect(expiresAt - Date.parse(login.body.session.createdAt)).toBeLessThanOrEqual(3000);
    expect(res.status).toBe(401);
    expect(res.body.error).toBe('session_expired');
    expect(setSessionCookie(res)?.value).toBe('');
    client.cookie = staleCookie;
    expect((await client.post(app, '/api/visits')).body.error).toBe('session_expired');
  });

  test.concurrent('when requests keep coming within the idle timeout, then the session outlives it and each response pushes the cookie expiry on', async () => {
    const app = await instance({ ...env, SESSION_IDLE_TIMEOUT_S: '2', SESSION_TOUCH_AFTER_S: '0' });
    const client = new TestClient();
    const login = await client.login(app);
    const loggedInAt = Date.parse(login.body.session.createdAt);
    const expiries = [setSessionCookie(login)!.expires!];

    const statuses: number[] = [];
    while (Date.now() - loggedInAt < 4500) {
      await sleep(TICK_MS);
      const sentAt = Date.now();
      const res = await client.get(app, '/api/session');
      statuses.push(res.status);
      const cookie = setSessionCookie(res);
      expect(cookie?.expires).toBeGreaterThanOrEqual(sentAt + 2000);
      expect(Date.parse(res.body.idleExpiresAt)).toBe(cookie!.expires);
      expiries.push(cookie!.expires!);
    }

    expect(statuses.every((s) => s === 200)).toBe(true);
    expect(statuses.length).toBeGreaterThanOrEqual(4);
    expect(Date.now() - loggedInAt).toBeGreaterThan(4000);
    expect(expiries).toEqual([...expiries].sort((a, b) => a - b));
    expect(expiries.at(-1)!).toBeGreaterThanOrEqual(expiries[0]! + 2000);
  });

  test.concurrent('when a request comes before SESSION_TOUCH_AFTER_S has passed, then no cookie is sent and the expiry stays; after it, both move', async () => {
    const app = await instance({ ...env, SESSION_IDLE_TIMEOUT_S: '3', SESSION_TOUCH_AFTER_S: '1' });
    const client = new TestClient();
    const login = await client.login(app);
    const loggedInAt = Date.parse(login.body.session.createdAt);
    const firstExpiry = setSessionCookie(login)!.expires!;
    const key = `sess:${client.sessionId()}`;
    const storedBefore = mode === 'redis' ? await redis.pexpiretime(key) : undefined;

    const early = await client.get(app, '/api/session');
    const earlyAfter = Date.now() - loggedInAt;
    const storedAfterEarly = mode === 'redis' ? await redis.pexpiretime(key) : undefined;
    await sleepUntil(loggedInAt + 1200);
    const late = await client.get(app, '/api/session');

    expect(earlyAfter).toBeLessThan(1000); // the early request really was inside the first second
    expect(early.status).toBe(200);
    expect(early.headers['set-cookie']).toBeUndefined();
    expect(Date.parse(early.body.idleExpiresAt)).toBe(firstExpiry);
    expect(late.status).toBe(200);
    const lateCookie = setSessionCookie(late);
    expect(lateCookie?.expires).toBeGreaterThan(firstExpiry);
    if (mode === 'redis') {
      expect(storedBefore).toBe(firstExpiry);
      expect(storedAfterEarly).toBe(firstExpiry);
      expect(await redis.pexpiretime(key)).toBe(lateCookie!.expires);
    }
  });

  test.concurrent('when a session stays active up to its absolute timeout, then it ends with 401 session_expired anyway', async () => {
    const app = await instance({ ...env, SESSION_IDLE_TIMEOUT_S: '2', SESSION_ABSOLUTE_TIMEOUT_S: '4' });
    const client = new TestClient();
    const login = await client.login(app);
    const absoluteExpiresAt = Date.parse(login.body.session.absoluteExpiresAt);

    const statuses: number[] = [];
    let lastExpiry = setSessionCookie(login)!.expires!;
    while (Date.now() + TICK_MS < absoluteExpiresAt - 300) {
      await sleep(TICK_MS);
      const res = await client.get(app, '/api/session');
      statuses.push(res.status);
      lastExpiry = setSessionCookie(res)?.expires ?? lastExpiry;
      expect(lastExpiry).toBeLessThanOrEqual(absoluteExpiresAt);
    }
    await sleepUntil(absoluteExpiresAt + 500);
    const after = await client.get(app, '/api/session');

    expect(absoluteExpiresAt - Date.parse(login.body.session.createdAt)).toBeGreaterThanOrEqual(4000);
    expect(statuses.length).toBeGreaterThanOrEqual(3);
    expect(statuses.every((s) => s === 200)).toBe(true);
    expect(lastExpiry).toBe(absoluteExpiresAt); // the idle extension is capped by the absolute expiry
    expect(after.status).toBe(401);
    expect(after.body.error).toBe('session_expired');
  });

  test.concurrent('when the absolute timeout is shorter than the idle one, then the cookie expires at the absolute expiry and the session ends there', async () => {
    const app = await instance({ ...env, SESSION_IDLE_TIMEOUT_S: '3', SESSION_ABSOLUTE_TIMEOUT_S: '2' });
    const client = new TestClient();
    const login = await client.login(app);
    const absoluteExpiresAt = Date.parse(login.body.session.absoluteExpiresAt);

    const during = await client.get(app, '/api/session');
    await sleepUntil(absoluteExpiresAt + 500);
    const after = await client.get(app, '/api/session');

    expect(setSessionCookie(login)!.expires).toBe(absoluteExpiresAt);
    expect(Date.parse(login.body.session.idleExpiresAt)).toBe(absoluteExpiresAt);
    expect(during.status).toBe(200);
    expect(Date.parse(during.body.idleExpiresAt)).toBeLessThanOrEqual(absoluteExpiresAt);
    expect(after.status).toBe(401);
    expect(after.body.error).toBe('session_expired');
  });
});

describe('Redis TTL and cookie expiry (redis store)', () => {
  test.concurrent('when a session is created and then extended, then the key expires exactly when the cookie does, and so does its index entry', async () => {
    const app = await instance({ SESSION_STORE: 'redis', SESSION_IDLE_TIMEOUT_S: '60', SESSION_TOUCH_AFTER_S: '1' });
    const client = new TestClient();
    const login = await client.login(app, 'carol');
    const key = `sess:${client.sessionId()}`;
    const loginCookie = setSessionCookie(login)!.expires!;
    const [pttlAtLogin, expireAtLogin, scoreAtLogin] = [await redis.pttl(key), await redis.pexpiretime(key), await redis.zscore(TEST_KEYS.userIndexKey('u-carol'), client.sessionId())];
    const loginRemaining = loginCookie - Date.now();

    await sleep(1200);
    const extended = await client.get(app, '/api/session');
    const extendedCookie = setSessionCookie(extended)!.expires!;
    const [pttlExtended, expireExtended, scoreExtended] = [await redis.pttl(key), await redis.pexpiretime(key), await redis.zscore(TEST_KEYS.userIndexKey('u-carol'), client.sessionId())];
    const extendedRemaining = extendedCookie - Date.now();

    expect(Math.abs(pttlAtLogin - loginRemaining)).toBeLessThan(1000);
    expect(expireAtLogin).toBe(loginCookie);
    expect(Number(scoreAtLogin)).toBe(loginCookie);
    expect(extendedCookie).toBeGreaterThan(loginCookie);
    expect(Math.abs(pttlExtended - extendedRemaining)).toBeLessThan(1000);
    expect(expireExtended).toBe(extendedCookie);
    expect(Number(scoreExtended)).toBe(extendedCookie);
  });
});
