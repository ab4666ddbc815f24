import { randomBytes, randomInt } from 'node:crypto';
import { promisify } from 'node:util';
import { Cookie, type SessionData } from 'express-session';
import fc from 'fast-check';
import Redis, { Cluster } from 'ioredis';
import request from 'supertest';
import { loadConfig } from '../../app/src/config';
import { sessionCookieOptions } from '../../app/src/session/cookie';
import { ceilToSecond } from '../../app/src/session/expiry';
import { MemorySessionStore } from '../../app/src/session/memory-store';
import { SESSION_PREFIX, SessionKeys, newSessionId } from '../../app/src/session/keys';
import { RedisSessionStore } from '../../app/src/session/redis-store';
import type { SessionStore } from '../../app/src/session/types';
import { DEMO_USERS } from '../helpers/client';
import { setSessionCookie } from '../helpers/cookies';
import { TEST_SECRET, startInstance, testClusterNodes, testRedisUrl } from '../helpers/instance';
import { anEntry } from '../helpers/activity';

/*
 * express-session's Store contract, as connect-redis 8.1.0's index_test.ts and express-session 1.19.0's
 * test/session.js check it, against both of the app's stores, called as express-session calls them (with
 * callbacks). Where ours differ from stock connect-redis on purpose, the tests assert what ours do
 * (docs/architecture.md, "Differences from stock connect-redis"). Every session has an id of its own.
 */
jest.setTimeout(30_000);

const SEED = 20_261_208;
/** connect-redis's default TTL: how long a session whose cookie has no expiry is kept. */
const ONE_DAY_MS = 86_400_000;
const TEN_MINUTES_MS = 600_000;
const COOKIE_OPTIONS = sessionCookieOptions(loadConfig({ SESSION_SECRETS: TEST_SECRET }));

/** The compact blob's own names (docs/architecture.md, "The session blob"). */
const STORED_NAMES = ['user', 'created', 'seen', 'absolute', 'by', 'ua', 'csrf', 'expires'];
/** Field names a serializer can get wrong: the blob's own, escaped-looking ones, Object.prototype's, unicode. */
const AWKWARD_NAMES = [
  ...STORED_NAMES,
  '~', '~x', '~user', '~~expires', 'x~',
  'constructor', 'toString', 'hasOwnProperty', 'valueOf', '__proto__', '__proto__x',
  '', ' ', 'a.b', 'a"b\\c', 'имя', '名前', '🍪',
];

const KEYS = new SessionKeys(TEST_SECRET);
const newUser = () => `u-contract-${randomBytes(6).toString('hex')}`;
/** An id as the app makes them: tagged with its user's hash tag (keys.ts), so a cluster keeps them in one slot. */
const newSid = (userId = newUser()) => newSessionId(KEYS.userTag(userId));

/** A cookie as express-session builds it: `maxAge` from now, or its default (no expiry) without one. */
function cookie(maxAgeMs?: number): Cookie {
  const made = new Cookie();
  if (maxAgeMs !== undefined) made.maxAge = maxAgeMs;
  return made;
}

/** A cookie expiring at a whole second, as the app's are (expiry.ts). */
function cookieUntil(expiresAt: number): Cookie {
  const made = new Cookie();
  made.expires = new Date(expiresAt);
  return made;
}

/** A session as the app's login saves it. */
function appSession(userId: string, sessionCookie: Cookie): SessionData {
  const now = Date.now();
  return {
    cookie: sessionCookie,
    userId,
    createdAt: now,
    lastSeenAt: now,
    absoluteExpiresAt: ceilToSecond(now + 8 * 3_600_000),
    visits: 3,
    cart: { tea: 2, 'mug ☕': 1 },
    createdBy: 'contract',
    userAgent: 'Mozilla/5.0 (X11; Linux x86_64) "quoted" \\ back',
    ip: '198.51.100.23',
  };
}

/** The app's own session fields: the generated ones below come on top of these. */
const APP_FIELDS = new Set(['cookie', 'csrfToken', ...Object.keys(appSession('u', cookie()))]);

/** A session with one field per awkward name. */
function awkwardSession(userId: string, sessionCookie: Cookie, value: (i: number) => unknown): SessionData {
  return { ...appSession(userId, sessionCookie), ...Object.fromEntries(AWKWARD_NAMES.map((name, i) => [name, value(i)])) };
}

/** What a session holds besides its cookie, as JSON carries it. */
function dataOf(sess: SessionData | null | undefined): Record<string, unknown> {
  const data = JSON.parse(JSON.stringify(sess)) as Record<string, unknown>;
  delete data.cookie;
  return data;
}

/** When a read session's cookie expires (the stores hand back a Date, or express-session's ISO text). */
const expiryOf = (sess: SessionData | null | undefined) => (sess?.cookie.expires == null ? null : new Date(sess.cookie.expires).getTime());

/** The store as express-session calls it: each operation with a callback. */
function callbackApi(store: SessionStore) {
  return {
    get: promisify(store.get.bind(store)) as (sid: string) => Promise<SessionData | null | undefined>,
    set: promisify(store.set.bind(store)) as (sid: string, sess: SessionData) => Promise<void>,
    destroy: promisify(store.destroy.bind(store)) as (sid: string) => Promise<void>,
    touch: promisify(store.touch!.bind(store)) as (sid: string, sess: SessionData) => Promise<void>,
  };
}

/** A client once connected: the store sends a write only on a ready connection (redis-store.ts WriteNotSentError). */
const ready = <C extends Redis | Cluster>(client: C) => new Promise<C>((resolve) => (client.status === 'ready' ? resolve(client) : client.once('ready', () => resolve(client))));
const openRedisStore = async () => {
  const redis = await ready(new Redis(testRedisUrl()));
  return { store: new RedisSessionStore(redis, COOKIE_OPTIONS, KEYS) as SessionStore, redis };
};
const openClusterStore = async () => {
  const redis = await ready(new Cluster(testClusterNodes().split(',').map((node) => ({ host: node.split(':')[0], port: Number(node.split(':')[1]) }))));
  return { store: new RedisSessionStore(redis, COOKIE_OPTIONS, KEYS) as SessionStore, redis };
};
const openMemoryStore = async () => ({ store: new MemorySessionStore() as SessionStore, redis: undefined });

describe.each([
  { kind: 'redis', open: openRedisStore },
  { kind: 'redis-cluster', open: openClusterStore },
  { kind: 'memory', open: openMemoryStore },
])('the express-session Store contract ($kind store)', ({ open }) => {
  let store: SessionStore;
  let redis: Redis | Cluster | undefined;
  let api: ReturnType<typeof callbackApi>;

  beforeAll(async () => {
    ({ store, redis } = await open());
    api = callbackApi(store);
  });
  afterAll(async () => {
    await store.close();
    await redis?.quit();
  });

  /** The key's remaining life in Redis (null for the memory store, which has no key). */
  const pttl = async (sid: string) => (redis ? redis.pttl(SESSION_PREFIX + sid) : null);

  /** Until when the store keeps a session, as a listing of its user shows it. */
  async function keptUntil(userId: string, sid: string, registeredUntil: number): Promise<number | undefined> {
    await store.register(userId, sid, registeredUntil, anEntry('login'));
    return (await store.listForUser(userId)).find((listed) => listed.sid === sid)?.expiresAt;
  }

  describe('get, set, destroy', () => {
    test('when a session is saved and read back, then its data comes back exactly and its cookie expires when it did', async () => {
      const sid = newSid();
      const expiresAt = ceilToSecond(Date.now() + TEN_MINUTES_MS);
      const saved = appSession(newUser(), cookieUntil(expiresAt));

      await api.set(sid, saved);
      const read = await api.get(sid);

      expect(dataOf(read)).toEqual(dataOf(saved));
      expect(expiryOf(read)).toBe(expiresAt);
      expect(read!.cookie).toMatchObject({ path: '/', httpOnly: true });
      // Redis hands back the life left (what express-session's touch() would reset to), memory the saved figure.
      expect(read!.cookie.originalMaxAge).toBeGreaterThan(TEN_MINUTES_MS - 5000);
      expect(read!.cookie.originalMaxAge).toBeLessThanOrEqual(saved.cookie.originalMaxAge!);
    });

    test('when the id was never saved, then get answers null without an error', async () => {
      await expect(api.get(newSid())).resolves.toBeNull();
    });

    test('when a session is destroyed, then get answers null, and destroying it again is no error', async () => {
      const sid = newSid();
      await api.set(sid, appSession(newUser(), cookie(TEN_MINUTES_MS)));

      await api.destroy(sid);
      const read = await api.get(sid);

      expect(read).toBeNull();
      await expect(api.destroy(sid)).resolves.toBeFalsy();
      if (redis) expect(await redis.exists(SESSION_PREFIX + sid)).toBe(0);
    });

    test('when the cookie has expired already, then set deletes the session', async () => {
      const userId = newUser();
      const sid = newSid(userId);
      await api.set(sid, appSession(userId, cookie(TEN_MINUTES_MS)));

      await api.set(sid, appSession(userId, cookie(-1000)));

      expect(await api.get(sid)).toBeNull();
      if (redis) expect(await redis.exists(SESSION_PREFIX + sid)).toBe(0);
    });
  });

  describe('expiry', () => {
    test("when the cookie has an expiry, then the store keeps the session exactly as long: Redis's TTL is the cookie's remaining life within 1 s", async () => {
      const userId = newUser();
      const sid = newSid(userId);
      const sessionCookie = cookie(TEN_MINUTES_MS); // express-session's maxAge: to the millisecond
      const expiresAt = sessionCookie.expires!.getTime();

      await api.set(sid, appSession(userId, sessionCookie));
      const ttl = await pttl(sid);
      const listed = await keptUntil(userId, sid, expiresAt);

      if (redis) expect(Math.abs(ttl! - (expiresAt - Date.now()))).toBeLessThanOrEqual(1000);
      expect(Math.abs(listed! - expiresAt)).toBeLessThanOrEqual(1000);
    });

    test("when the cookie has no expiry (express-session's default without maxAge), then the session is stored, reads back without one, and Redis keeps it one day", async () => {
      const sid = newSid();
      const saved = appSession(newUser(), cookie());

      await api.set(sid, saved);
      const read = await api.get(sid);
      const ttl = await pttl(sid);

      expect(read).not.toBeNull();
      expect(dataOf(read)).toEqual(dataOf(saved));
      expect(read!.cookie).toMatchObject({ expires: null, originalMaxAge: null, path: '/', httpOnly: true });
      if (redis) expect(Math.abs(ttl! - ONE_DAY_MS)).toBeLessThanOrEqual(1000);
    });

    test('when a session without cookie expiry is listed and counted, then it is live, kept for one day', async () => {
      const userId = newUser();
      const sid = newSid(userId);
      const before = await store.countLive([userId]);

      await api.set(sid, appSession(userId, cookie()));
      const listed = await keptUntil(userId, sid, Date.now() + ONE_DAY_MS);
      const after = await store.countLive([userId]);

      expect(listed).toBeDefined();
      expect(Math.abs(listed! - (Date.now() + ONE_DAY_MS))).toBeLessThanOrEqual(1000);
      expect(after - before).toBe(1);
    });

    test('when a session without cookie expiry is extended, then it takes the new expiry, in its cookie and its TTL', async () => {
      const userId = newUser();
      const sid = newSid(userId);
      await api.set(sid, appSession(userId, cookie()));
      await store.register(userId, sid, Date.now() + ONE_DAY_MS, anEntry('login'));
      const expiresAt = ceilToSecond(Date.now() + TEN_MINUTES_MS);
      const seen = Date.now();

      const extended = await store.extend(sid, userId, expiresAt, seen, anEntry('extend'));
      const read = await api.get(sid);
      const ttl = await pttl(sid);

      expect(extended).toBe(true);
      expect(expiryOf(read)).toBe(expiresAt);
      expect(read!.lastSeenAt).toBe(seen);
      if (redis) expect(Math.abs(ttl! - (expiresAt - Date.now()))).toBeLessThanOrEqual(1000);
    });

    test('when touch is called with a later expiry, then nothing moves: touch is disabled, the app extends sessions itself', async () => {
      const userId = newUser();
      const sid = newSid(userId);
      const expiresAt = ceilToSecond(Date.now() + TEN_MINUTES_MS);
      await api.set(sid, appSession(userId, cookieUntil(expiresAt)));
      const ttlBefore = await pttl(sid);

      await api.touch(sid, appSession(userId, cookieUntil(expiresAt + 3_600_000)));
      const read = await api.get(sid);
      const ttlAfter = await pttl(sid);

      expect(expiryOf(read)).toBe(expiresAt);
      if (redis) expect(ttlAfter!).toBeLessThanOrEqual(ttlBefore!);
    });
  });

  describe('field names and values', () => {
    test("when fields are named like the blob's own names, escapes or Object.prototype's members, then each is saved and read back exactly", async () => {
      const sid = newSid();
      const saved = awkwardSession(newUser(), cookie(TEN_MINUTES_MS), (i) => ({ i, nested: [i, `${i}`, null, true] }));

      await api.set(sid, saved);
      const read = await api.get(sid);

      expect(dataOf(read)).toEqual(dataOf(saved));
    });

    test('when field names and values are arbitrary JSON, then every session reads back exactly', async () => {
      const name = fc
        .oneof(fc.string(), fc.string({ unit: 'grapheme' }), fc.constantFrom(...AWKWARD_NAMES, '__proto__'))
        .filter((n) => !APP_FIELDS.has(n));
      const userId = newUser();

      await fc.assert(
        fc.asyncProperty(fc.dictionary(name, fc.jsonValue()), async (fields) => {
          const sid = newSid();
          const saved = { ...appSession(userId, cookie(TEN_MINUTES_MS)), ...fields };

          await api.set(sid, saved);
          const read = await api.get(sid);
          await api.destroy(sid);

          expect(dataOf(read)).toEqual(dataOf(saved));
        }),
        { seed: SEED, numRuns: 200 },
      );
    });

    test("when fields are named like the blob's own names, then visits, cart and extend change only what they own", async () => {
      const userId = newUser();
      const sid = newSid(userId);
      const expiresAt = ceilToSecond(Date.now() + TEN_MINUTES_MS);
      const saved = awkwardSession(userId, cookieUntil(expiresAt), (i) => `value ${i}`);
      await api.set(sid, saved);
      await store.register(userId, sid, expiresAt, anEntry('login'));
      const seen = Date.now();

      const visits = await store.incrementVisits(sid, anEntry());
      const cart = await store.addToCart(sid, 'tea', 1, 16_384, anEntry('cart_add'));
      const extended = await store.extend(sid, userId, expiresAt + 60_000, seen, anEntry('extend'));
      const read = await api.get(sid);

      expect([visits, cart, extended]).toEqual([4, { status: 'ok', cart: { tea: 3, 'mug ☕': 1 } }, true]);
      expect(dataOf(read)).toEqual({ ...dataOf(saved), visits: 4, cart: { tea: 3, 'mug ☕': 1 }, lastSeenAt: seen });
      expect(expiryOf(read)).toBe(expiresAt + 60_000);
    });
  });

  describe('concurrent saves', () => {
    test('when fifty sessions are saved at once, then each reads back as it was saved', async () => {
      const userId = newUser();
      const saved = Array.from({ length: 50 }, (_, i) => ({ sid: newSid(), sess: { ...appSession(userId, cookie(TEN_MINUTES_MS)), visits: i } }));

      await Promise.all(saved.map(({ sid, sess }) => api.set(sid, sess)));
      const read = await Promise.all(saved.map(({ sid }) => api.get(sid)));

      expect(read.map(dataOf)).toEqual(saved.map(({ sess }) => dataOf(sess)));
    });

    test('when one session is saved twenty times at once, then every save succeeds and the last one wins', async () => {
      const userId = newUser();
      const sid = newSid(userId);
      const versions = Array.from({ length: 20 }, (_, i) => ({ ...appSession(userId, cookie(TEN_MINUTES_MS)), visits: i }));

      const outcomes = await Promise.allSettled(versions.map((sess) => api.set(sid, sess)));
      const read = await api.get(sid);

      expect(outcomes.map((o) => o.status)).toEqual(Array(20).fill('fulfilled'));
      expect(dataOf(read)).toEqual(dataOf(versions.at(-1)));
    });
  });
});

const OPTIONAL_METHODS = ['all', 'ids', 'length', 'clear'];

describe("the Store contract's optional methods: all, ids, length, clear", () => {
  test('when they are called on the Redis store, then each fails and deletes nothing: they would SCAN every key, which the apps\' Redis user may not', async () => {
    const { store, redis } = await openRedisStore();
    const sid = newSid();
    await callbackApi(store).set(sid, appSession(newUser(), cookie(TEN_MINUTES_MS)));
    const methods = store as unknown as Record<string, (cb: (err: unknown) => void) => void>;

    const answers = await Promise.all(
      OPTIONAL_METHODS.map((method) => promisify(methods[method]!.bind(store))().then(() => 'answered', (err: Error) => err.message)),
    );
    const kept = await redis.exists(SESSION_PREFIX + sid);
    await redis.quit();

    expect(answers).toEqual(OPTIONAL_METHODS.map((method) => expect.stringContaining(`does not offer ${method}()`)));
    expect(kept).toBe(1);
  });

  test('when the memory store is asked for them, then it has none (express-session makes them optional)', () => {
    const store = new MemorySessionStore();
    const methods = store as unknown as Record<string, unknown>;

    const offered = OPTIONAL_METHODS.filter((method) => methods[method] !== undefined);
    void store.close();

    expect(offered).toEqual([]);
  });
});

describe('a login whose save fails (redis store)', () => {
  test('when Redis refuses to store the new session, then the login answers 500 without a cookie, and nothing saves it again after that status', async () => {
    const admin = new Redis(testRedisUrl());
    const username = `contract-no-set-${randomBytes(4).toString('hex')}`;
    const password = randomBytes(16).toString('hex');
    // Everything but SET, which only the failed-login counters may use: the session's save is refused.
    await admin.acl('SETUSER', username, 'reset', 'on', `>${password}`, '~*', '&*', '+@all', '-set', '(+set ~login-failures:*)');
    const app = await startInstance({ INSTANCE_ID: 'contract-no-set', TRUST_PROXY: '1', REDIS_USERNAME: username, REDIS_PASSWORD: password });

    try {
      const res = await request(app.url)
        .post('/api/login')
        .set('x-forwarded-for', `203.0.113.${randomInt(1, 255)}`)
        .send({ username: 'alice', password: DEMO_USERS.alice });
      // The instance's own count: express-session's end-of-response save would be a second failed `set`.
      const metrics = (await request(app.url).get('/metrics')).text;
      const failedSaves = Number(/^sc_store_errors_total\{[^}]*operation="set"[^}]*\} (\d+)$/m.exec(metrics)?.[1] ?? 0);

      console.log(`login with its save refused: ${res.status} ${res.body.error}, ${failedSaves} failed save(s)`);
      expect(res.status).toBe(500);
      expect(res.body.error).toBe('internal_error');
      expect(setSessionCookie(res)).toBeUndefined();
      expect(failedSaves).toBe(1);
    } finally {
      await app.close();
      await admin.acl('DELUSER', username);
      await admin.quit();
    }
  });
});
