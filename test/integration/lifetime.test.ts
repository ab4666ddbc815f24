import Redis from 'ioredis';
import { SESSION_PREFIX } from '../../app/src/session/keys';
import { sleep } from '../../toolkit/time';
import { DEMO_USERS, TestClient } from '../helpers/client';
import { setSessionCookie } from '../helpers/cookies';
import { instancesForFile, testRedisUrl } from '../helpers/instance';

/*
 * Lifetime classes: a login with `remember: true` gets the remembered class's idle and absolute timeouts
 * (SESSION_REMEMBER_*), in the cookie and in the store alike, and keeps them when the idle window moves on.
 * Short, distinct timeouts so each class is told apart by its figures.
 */
jest.setTimeout(20_000);

const TIMEOUTS = { SESSION_IDLE_TIMEOUT_S: '60', SESSION_ABSOLUTE_TIMEOUT_S: '120', SESSION_REMEMBER_IDLE_TIMEOUT_S: '600', SESSION_REMEMBER_ABSOLUTE_TIMEOUT_S: '3600' };

let redis: Redis;
const instance = instancesForFile(TIMEOUTS);

beforeAll(() => {
  redis = new Redis(testRedisUrl());
});
afterAll(async () => {
  await redis.quit();
});

/** How far `iso` (or epoch ms) lies after `from`, in seconds. */
const secondsAfter = (at: string | number, from: string) => ((typeof at === 'number' ? at : Date.parse(at)) - Date.parse(from)) / 1000;

describe.each([
  { mode: 'redis', env: { SESSION_STORE: 'redis' } },
  { mode: 'memory', env: { SESSION_STORE: 'memory' } },
])('lifetime classes ($mode store)', ({ mode, env }) => {
  test('when a user logs in with remember: true, then the session is remembered: cookie, store and absolute expiry follow that class; without it, standard', async () => {
    const app = await instance(env);
    const [remembered, standard] = [new TestClient(), new TestClient()];
    const long = await remembered.post(app, '/api/login', { username: 'alice', password: DEMO_USERS.alice, remember: true });
    const short = await standard.post(app, '/api/login', { username: 'alice', password: DEMO_USERS.alice, remember: false });
    const read = await remembered.get(app, '/api/session');
    const ttlS = mode === 'redis' ? (await redis.pttl(`${SESSION_PREFIX}${remembered.sessionId()}`)) / 1000 : null;

    expect(long.status).toBe(200);
    expect(long.body.session.lifetime).toBe('remembered');
    expect(read.body.lifetime).toBe('remembered');
    const created = long.body.session.createdAt as string;
    expect(secondsAfter(setSessionCookie(long)!.expires!, created)).toBeGreaterThanOrEqual(599);
    expect(secondsAfter(setSessionCookie(long)!.expires!, created)).toBeLessThanOrEqual(601);
    expect(secondsAfter(long.body.session.absoluteExpiresAt, created)).toBeGreaterThanOrEqual(3600);
    expect(secondsAfter(long.body.session.absoluteExpiresAt, created)).toBeLessThanOrEqual(3601);
    if (ttlS !== null) {
      expect(ttlS).toBeGreaterThan(590);
      expect(ttlS).toBeLessThanOrEqual(601);
    }
    expect(short.body.session.lifetime).toBe('standard');
    expect(secondsAfter(setSessionCookie(short)!.expires!, short.body.session.createdAt)).toBeLessThanOrEqual(61);
    expect(secondsAfter(short.body.session.absoluteExpiresAt, short.body.session.createdAt)).toBeLessThanOrEqual(121);
  });

  test('when a remembered session is used, then its idle window moves on by the remembered idle timeout, not the standard one', async () => {
    const app = await instance({ ...env, SESSION_TOUCH_AFTER_S: '0' });
    const client = new TestClient();
    const login = await client.post(app, '/api/login', { username: 'bob', password: DEMO_USERS.bob, remember: true });
    await sleep(1100);
    const used = await client.get(app, '/api/session');

    const before = setSessionCookie(login)!.expires!;
    const after = setSessionCookie(used)!.expires!;
    expect(after - before).toBeGreaterThanOrEqual(1000);
    expect((after - Date.now()) / 1000).toBeGreaterThan(590);
    expect(used.body.lifetime).toBe('remembered');
  });

  test('when remember is not a boolean, then 400 invalid_body names it and no session is made', async () => {
    const app = await instance(env);
    const client = new TestClient();
    const res = await client.post(app, '/api/login', { username: 'carol', password: DEMO_USERS.carol, remember: 'yes' });

    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_body');
    expect(res.body.details).toEqual([expect.objectContaining({ path: 'remember' })]);
    expect(client.cookie).toBeUndefined();
  });
});
