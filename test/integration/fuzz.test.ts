import { randomBytes } from 'node:crypto';
import { sign } from 'cookie-signature';
import fc from 'fast-check';
import Redis from 'ioredis';
import request, { type Response } from 'supertest';
import { endedKey } from '../../app/src/session/keys';
import { DEMO_USERS, TestClient } from '../helpers/client';
import { TEST_KEYS, TEST_SECRET, startInstance, testRedisUrl, type TestInstance } from '../helpers/instance';

/*
 * Generated requests against every route of one instance on the test Redis: random methods, paths, bodies,
 * content types and encodings, headers and cookies, some carrying a logged-in victim's real cookie and CSRF
 * token. Fixed seed and count, so a failure replays exactly. Whatever arrives, the app answers below 500,
 * errors in the one JSON shape, keeps running, and a request it refuses leaves the victim's stored session
 * (its blob, expiry, index entry, end marker) byte for byte as it was.
 */
const SEED = 20_261_123;
const RUNS = 2000;
jest.setTimeout(90_000);

const ROUTES: [string, string][] = [
  ['POST', '/api/login'],
  ['POST', '/api/logout'],
  ['GET', '/api/session'],
  ['POST', '/api/visits'],
  ['GET', '/api/cart'],
  ['POST', '/api/cart/items'],
  ['DELETE', '/api/cart/items/:param'],
  ['GET', '/api/sessions'],
  ['DELETE', '/api/sessions/:param'],
  ['DELETE', '/api/sessions'],
  ['POST', '/api/reauth'],
  ['GET', '/api/admin/users/:param/sessions'],
  ['DELETE', '/api/admin/users/:param/sessions'],
  ['GET', '/api/cluster'],
  ['GET', '/healthz'],
  ['GET', '/readyz'],
  ['GET', '/metrics'],
  ['GET', '/'],
  ['GET', '/dashboard.css'],
  ['GET', '/:param'],
  ['POST', '/api/:param'],
];
const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'] as const;

/** Header values Node's client can send: printable ASCII and a few Latin-1 characters. */
const headerText = (maxLength = 80) =>
  fc.string({ unit: fc.oneof({ weight: 9, arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 }) }, { weight: 1, arbitrary: fc.constantFrom('é', 'ÿ', '\t', '\u00a0') }), maxLength });

/** A path segment: URL-encoded text, or raw escapes that may not decode. */
const segment = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 40 }).map(encodeURIComponent),
  fc.constantFrom('%', '%E0%A4%A', '%ZZ', '..', '%2e%2e', '%00', 'AAAAAAAAAAAAAAAAAAAAAA', 'tea', '..%2F..%2Fetc%2Fpasswd', 'a'.repeat(300)),
);

/** What the cookie header carries, given the victim's real cookie value. */
type CookieChoice = (victim: string, sid: string) => string | undefined;
const cookieChoice: fc.Arbitrary<{ name: string; pick: CookieChoice }> = fc.oneof(
  { weight: 2, arbitrary: fc.constant({ name: 'none', pick: () => undefined }) },
  { weight: 6, arbitrary: fc.constant({ name: 'victim', pick: (v: string) => `sc.sid=${v}` }) },
  fc.constant({ name: 'victim, twice with garbage', pick: (v: string) => `sc.sid=garbage; sc.sid=${v}; sc.sid=%%` }),
  fc.constant({ name: 'victim, tampered', pick: (v: string) => `sc.sid=${v.slice(0, -3)}xyz` }),
  fc.constant({ name: 'victim id unsigned', pick: (_v: string, sid: string) => `sc.sid=${sid}` }),
  fc.constant({ name: 'victim id as connect.sid', pick: (v: string) => `connect.sid=${v}` }),
  fc.constant({ name: 'signed unknown id', pick: () => `sc.sid=${encodeURIComponent(`s:${sign(randomBytes(24).toString('base64url'), TEST_SECRET)}`)}` }),
  headerText(300).map((text) => ({ name: 'random', pick: () => text })),
  headerText(60).map((text) => ({ name: 'random sc.sid', pick: () => `sc.sid=${text}` })),
);

const body = fc.oneof(
  fc.constant(undefined),
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
  fc
    .record(
      {
        username: fc.oneof(fc.constantFrom('alice', 'bob', 'carol', 'ALICE', 'mallory', ''), fc.jsonValue({ maxDepth: 1 })),
        password: fc.oneof(fc.constantFrom(...Object.values(DEMO_USERS), 'wrong'), fc.jsonValue({ maxDepth: 1 })),
        productId: fc.oneof(fc.constantFrom('tea', 'cake', '../x', 'a'.repeat(65)), fc.jsonValue({ maxDepth: 1 })),
        quantity: fc.oneof(fc.integer({ min: -5, max: 120 }), fc.jsonValue({ maxDepth: 1 })),
        extra: fc.jsonValue({ maxDepth: 2 }),
      },
      { requiredKeys: [] },
    )
    .map((v) => JSON.stringify(v)),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.constantFrom(
    '{',
    '{"username":',
    '[]',
    'null',
    '"x"',
    '1e999',
    `{"a":${'['.repeat(2000)}`,
    'x'.repeat(17 * 1024),
    '{"__proto__":{"user":{"id":"u-alice"}},"username":"alice","password":"x"}',
    '{"constructor":{"prototype":{"csrfToken":"x"}},"productId":"tea","quantity":1}',
    '{"username":"alice","username":"bob","password":"wonderland"}',
  ),
);

const headers = fc.record(
  {
    // Mostly what a real client sends, so that requests get past the parsers and the guards into the handlers.
    'content-type': fc.oneof(
      { weight: 5, arbitrary: fc.constant('application/json') },
      fc.constantFrom('application/json', 'application/json; charset=utf-8', 'application/json; charset=utf-16', 'application/json; charset=bogus', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/merge-patch+json'),
      headerText(40),
    ),
    'content-encoding': fc.oneof({ weight: 6, arbitrary: fc.constant('identity') }, fc.constantFrom('gzip', 'deflate', 'br', 'bogus')),
    'x-csrf-token': fc.oneof({ weight: 4, arbitrary: fc.constant('<victim>') }, headerText(40)),
    origin: fc.oneof({ weight: 6, arbitrary: fc.constant('<own>') }, fc.constantFrom('null', 'https://evil.example', 'http://127.0.0.1'), headerText(40)),
    'sec-fetch-site': fc.oneof({ weight: 6, arbitrary: fc.constant('same-origin') }, fc.constantFrom('same-site', 'cross-site', 'none'), headerText(20)),
    'x-forwarded-for': fc.oneof(fc.ipV4(), fc.ipV6(), headerText(40)),
    'x-forwarded-proto': fc.oneof(fc.constantFrom('https', 'http'), headerText(10)),
    'x-request-id': headerText(80),
    'user-agent': headerText(400),
    accept: headerText(40),
  },
  { requiredKeys: [] },
);

const fuzzedRequest = fc.record({
  route: fc.constantFrom(...ROUTES),
  // Mostly the route's own method; now and then another one.
  otherMethod: fc.oneof({ weight: 4, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.constantFrom(...METHODS) }),
  param: segment,
  query: fc.oneof({ weight: 3, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.string({ unit: 'grapheme-ascii', maxLength: 40 }).map(encodeURIComponent) }),
  cookie: cookieChoice,
  headers,
  body,
});

interface Victim {
  client: TestClient;
  sid: string;
  userId: string;
}

describe('fuzz: generated requests against every route (redis store)', () => {
  let app: TestInstance;
  let redis: Redis;

  beforeAll(async () => {
    // A request that passes the session check may extend the idle window (once per SESSION_TOUCH_AFTER_S)
    // before its handler refuses it; the run is far shorter than that, so any change seen is a refusal's.
    app = await startInstance({ INSTANCE_ID: 'fuzz', TRUST_PROXY: '1', SESSION_TOUCH_AFTER_S: '300' });
    redis = new Redis(testRedisUrl());
  });
  afterAll(async () => {
    await app.close();
    await redis.quit();
  });

  async function newVictim(): Promise<Victim> {
    const client = new TestClient();
    await client.post(app, '/api/login', { username: 'carol', password: DEMO_USERS.carol }, { 'x-forwarded-for': '203.0.113.250' }).then((res) => {
      if (res.status !== 200) throw new Error(`victim login failed: ${res.status}`);
      client.csrfToken = res.body.csrfToken;
    });
    return { client, sid: client.sessionId(), userId: 'u-carol' };
  }

  /** Everything the store holds about the victim's session (DUMP: whatever type a key has). */
  async function snapshot({ sid, userId }: Victim): Promise<string> {
    const key = `sess:${sid}`;
    const dump = (k: string) => redis.dumpBuffer(k).then((value) => value?.toString('base64') ?? null);
    const [blob, expiresAt, indexed, ended] = await Promise.all([
      dump(key),
      redis.pexpiretime(key),
      redis.zscore(TEST_KEYS.userIndexKey(userId), sid),
      dump(endedKey(sid)),
    ]);
    return JSON.stringify({ blob, expiresAt, indexed, ended });
  }

  test(`when ${RUNS} generated requests arrive (seed ${SEED}), then none gets a 5xx or crashes the app, errors keep the JSON shape, and no refused request changes the victim's session`, async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (err: unknown) => unhandled.push(err);
    process.on('unhandledRejection', onUnhandled);
    let victim = await newVictim();
    const statuses: Record<number, number> = {};
    let refusedWithVictim = 0;
    const started = Date.now();

    try {
      await fc.assert(
        fc.asyncProperty(fuzzedRequest, async (r) => {
          const [routeMethod, pattern] = r.route;
          const method = (r.otherMethod ?? routeMethod).toLowerCase() as Lowercase<(typeof METHODS)[number]>;
          const path = pattern.replace(':param', r.param) + (r.query === null ? '' : `?q=${r.query}`);
          const victimCookie = victim.client.cookie!.value;
          const set: Record<string, string> = {};
          for (const [name, value] of Object.entries(r.headers)) {
            if (value === undefined) continue;
            set[name] = value === '<victim>' ? victim.client.csrfToken : value === '<own>' ? `http://${new URL(app.url).host}` : value;
          }
          const cookie = r.cookie.pick(victimCookie, victim.sid);
          if (cookie !== undefined) set.cookie = cookie;

          const before = await snapshot(victim);
          let req = request(app.url)[method](path).set(set);
          if (r.body !== undefined && method !== 'get' && method !== 'head') req = req.send(r.body);
          const res: Response = await req;
          const after = await snapshot(victim);
          statuses[res.status] = (statuses[res.status] ?? 0) + 1;

          if (res.status >= 500) throw new Error(`${res.status} for ${method} ${path}: ${res.text.slice(0, 200)}`);
          if (res.status >= 400 && method !== 'head' && path.startsWith('/api')) {
            expect(typeof res.body.error).toBe('string');
            expect(typeof res.body.message).toBe('string');
          }
          if (res.status >= 400) {
            if (cookie?.includes(victimCookie)) refusedWithVictim += 1;
            if (after !== before) throw new Error(`refused ${method} ${path} (${res.status}) changed the victim's session:\n${before}\n${after}`);
          } else if (JSON.parse(after).blob === null) {
            victim = await newVictim(); // a logout or a new login on the victim's cookie ended it: carry on with a fresh one
          }
        }),
        { seed: SEED, numRuns: RUNS, endOnFailure: true },
      );
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    const health = await request(app.url).get('/healthz');
    const stillWorks = await victim.client.get(app, '/api/session');
    const seconds = (Date.now() - started) / 1000;
    const fivexx = Object.entries(statuses).filter(([s]) => Number(s) >= 500).reduce((n, [, c]) => n + c, 0);
    console.log(`fuzz: ${RUNS} requests in ${seconds.toFixed(1)} s (seed ${SEED}), ${fivexx} 5xx, 0 changed sessions; ${refusedWithVictim} refusals carried the victim's cookie; statuses ${JSON.stringify(statuses)}`);

    expect(fivexx).toBe(0);
    expect(unhandled).toEqual([]);
    expect(health.status).toBe(200);
    expect(stillWorks.status).toBe(200);
    expect(Object.keys(statuses).length).toBeGreaterThan(5); // the generator reached many answers, not one
    expect(refusedWithVictim).toBeGreaterThan(RUNS / 10);
  });
});
