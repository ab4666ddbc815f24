import Redis from 'ioredis';
import { sleep, sleepUntil } from '../../toolkit/time';
import { TestClient } from '../helpers/client';
import { setSessionCookie } from '../helpers/cookies';
import { TEST_KEYS, startInstance, type TestInstance } from '../helpers/instance';
import { startOwnedRedis, type OwnedRedis } from '../helpers/redis-server';

/*
 * Per-user policies act on every session of a user, so this file owns its Redis: a `single` login here
 * must not revoke the sessions other test files hold for the same demo user.
 */
jest.setTimeout(20_000);

let owned: OwnedRedis;
let redis: Redis;
let a: TestInstance | undefined;
let b: TestInstance | undefined;

async function twoInstances(env: Record<string, string>): Promise<[TestInstance, TestInstance]> {
  a = await startInstance({ ...env, REDIS_URL: owned.url, INSTANCE_ID: 'policy-a' });
  b = await startInstance({ ...env, REDIS_URL: owned.url, INSTANCE_ID: 'policy-b' });
  return [a, b];
}

beforeAll(async () => {
  owned = await startOwnedRedis();
  redis = new Redis(owned.url);
});
beforeEach(async () => {
  await redis.flushall();
});
afterEach(async () => {
  await Promise.all([a?.close(), b?.close()]);
  a = b = undefined;
});
afterAll(async () => {
  await redis.quit();
  await owned.destroy();
});

const statusOf = async (client: TestClient, on: TestInstance) => {
  const res = await client.get(on, '/api/session');
  return res.status === 200 ? 'live' : res.body.error;
};

describe('session policies across two instances sharing one Redis', () => {
  test('when SESSION_POLICY=single and the user logs in again on another instance, then the first session gets 401 session_revoked everywhere', async () => {
    const [a, b] = await twoInstances({ SESSION_POLICY: 'single' });
    const first = new TestClient();
    const second = new TestClient();
    await first.login(a, 'alice');

    const firstCookie = first.cookie;

    await second.login(b, 'alice');

    const onA = await first.get(a, '/api/session');
    first.cookie = firstCookie; // the 401 cleared it; replay it on the other instance
    const onB = await first.get(b, '/api/session');
    expect(onA.status).toBe(401);
    expect(onA.body.error).toBe('session_revoked');
    expect(onB.status).toBe(401);
    expect(onB.body.error).toBe('session_revoked');
    expect(await statusOf(second, a)).toBe('live');
    const listed = await second.get(b, '/api/sessions');
    expect(listed.body.sessions).toHaveLength(1);
    expect(listed.body.sessions[0].current).toBe(true);
    expect(await redis.zcard(TEST_KEYS.userIndexKey('u-alice'))).toBe(1);
  });

  test('when SESSION_POLICY=single, then another user’s session is left alone', async () => {
    const [a, b] = await twoInstances({ SESSION_POLICY: 'single' });
    const bob = new TestClient();
    await bob.login(a, 'bob');

    await new TestClient().login(b, 'alice');
    await new TestClient().login(b, 'alice');

    expect(await statusOf(bob, b)).toBe('live');
  });

  test('when SESSION_POLICY=max:2 and a third login comes, then only the oldest session is revoked', async () => {
    const [a, b] = await twoInstances({ SESSION_POLICY: 'max:2' });
    const [oldest, middle, newest, fourth] = [new TestClient(), new TestClient(), new TestClient(), new TestClient()];
    await oldest.login(a, 'bob');
    await middle.login(b, 'bob');
    const beforeThird = [await statusOf(oldest, a), await statusOf(middle, a)];

    await newest.login(a, 'bob');

    expect(beforeThird).toEqual(['live', 'live']);
    expect([await statusOf(oldest, b), await statusOf(middle, b), await statusOf(newest, b)]).toEqual(['session_revoked', 'live', 'live']);

    await fourth.login(b, 'bob');

    expect([await statusOf(middle, a), await statusOf(newest, a), await statusOf(fourth, a)]).toEqual(['session_revoked', 'live', 'live']);
    expect((await fourth.get(a, '/api/sessions')).body.sessions).toHaveLength(2);
  });

  test('when SESSION_POLICY=multi, then every login keeps its session', async () => {
    const [a, b] = await twoInstances({ SESSION_POLICY: 'multi' });
    const devices = [new TestClient(), new TestClient(), new TestClient(), new TestClient()];

    for (const [i, device] of devices.entries()) await device.login(i % 2 ? b : a, 'carol');

    for (const device of devices) expect(await statusOf(device, a)).toBe('live');
    expect((await devices[0]!.get(b, '/api/sessions')).body.sessions).toHaveLength(4);
  });
});

describe('the per-user index', () => {
  test('when one of a user’s sessions idles out, then the listing drops it and the index no longer holds it', async () => {
    const [a, b] = await twoInstances({ SESSION_IDLE_TIMEOUT_S: '2' });
    const idle = new TestClient('sc.sid', 'idle-device');
    const active = new TestClient('sc.sid', 'active-device');
    const idleLogin = await idle.login(a, 'alice');
    await active.login(b, 'alice');
    const idleSid = idle.sessionId();
    const idleExpiresAt = setSessionCookie(idleLogin)!.expires!;
    const listedBefore = (await active.get(a, '/api/sessions')).body.sessions.map((s: { userAgent: string }) => s.userAgent);

    // The active device keeps its own session alive while the idle one runs out.
    while (Date.now() < idleExpiresAt + 500) {
      expect(await statusOf(active, b)).toBe('live');
      await sleep(500);
    }
    const listed = await active.get(b, '/api/sessions');

    expect(listedBefore.sort()).toEqual(['active-device', 'idle-device']);
    expect(listed.status).toBe(200);
    expect(listed.body.sessions.map((s: { userAgent: string }) => s.userAgent)).toEqual(['active-device']);
    expect(await redis.zscore(TEST_KEYS.userIndexKey('u-alice'), idleSid)).toBeNull();
    expect(await redis.zcard(TEST_KEYS.userIndexKey('u-alice'))).toBe(1);
    // The index itself expires with its longest-lived session, so it never outlives them.
    const indexExpiresAt = await redis.pexpiretime(TEST_KEYS.userIndexKey('u-alice'));
    expect(indexExpiresAt).toBeGreaterThan(Date.now());
    expect(indexExpiresAt).toBeLessThanOrEqual(Date.now() + 3000);
  });

  test('when every session of a user has expired, then the index key is gone from Redis', async () => {
    const [a] = await twoInstances({ SESSION_IDLE_TIMEOUT_S: '1', SESSION_TOUCH_AFTER_S: '0' });
    const client = new TestClient();
    const login = await client.login(a, 'bob');
    const expiresAt = setSessionCookie(login)!.expires!;
    const existedBefore = await redis.exists(TEST_KEYS.userIndexKey('u-bob'));

    await sleepUntil(expiresAt + 300);

    expect(existedBefore).toBe(1);
    expect(await redis.exists(TEST_KEYS.userIndexKey('u-bob'))).toBe(0);
    expect(await redis.exists(`sess:${client.sessionId()}`)).toBe(0);
  });
});

describe('policies under parallel logins', () => {
  test.each([
    ['single', 1],
    ['max:2', 2],
  ])('when the user logs in on several devices at once with SESSION_POLICY=%s, then exactly the %i newest sessions survive', async (policy, survivors) => {
    const [a, b] = await twoInstances({ SESSION_POLICY: policy });

    const outcomes: string[][] = [];
    for (let round = 0; round < 5; round++) {
      const devices = Array.from({ length: 6 }, () => new TestClient());
      const logins = await Promise.all(devices.map((d, i) => d.login(i % 2 ? a : b, 'carol')));
      const createdAt = logins.map((l) => Date.parse(l.body.session.createdAt));
      const statuses = await Promise.all(devices.map((d) => statusOf(d, a)));
      outcomes.push(statuses);
      const newestFirst = [...statuses.keys()].sort((x, y) => createdAt[y]! - createdAt[x]!);
      // Ties in createdAt are broken by the session id, which the test cannot order: check only clear winners.
      const clearlyNewest = newestFirst.filter((i) => createdAt[i]! > createdAt[newestFirst[survivors]!]!);
      for (const i of clearlyNewest) expect(statuses[i]).toBe('live');
    }

    for (const statuses of outcomes) {
      expect(statuses.filter((s) => s === 'live')).toHaveLength(survivors);
      expect(statuses.filter((s) => s !== 'live')).toEqual(Array(6 - survivors).fill('session_revoked'));
    }
  });
});
