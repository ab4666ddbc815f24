import { randomBytes, randomInt } from 'node:crypto';
import { sign } from 'cookie-signature';
import Redis from 'ioredis';
import request from 'supertest';
import { sleep } from '../../toolkit/time';
import { createAppUser } from '../helpers/acl';
import { DEMO_USERS, TestClient } from '../helpers/client';
import { TEST_SECRET, startInstance, testRedisUrl, type TestInstance } from '../helpers/instance';
import { startOwnedRedis, type OwnedRedis } from '../helpers/redis-server';

/** Supertest request carrying a client's cookie and CSRF token, for bodies TestClient would not send. */
function as(client: TestClient, app: TestInstance, method: 'post' | 'delete' | 'get', path: string) {
  return request(app.url)[method](path).set({ cookie: `sc.sid=${client.cookie!.value}`, 'x-csrf-token': client.csrfToken });
}

/** A client address of its own, so login-failure counts in the shared Redis never mix between tests. */
const uniqueAddress = () => `198.51.${randomInt(0, 256)}.${randomInt(1, 255)}`;

const wrongLogin = (on: TestInstance, address: string, username = 'alice') =>
  request(on.url).post('/api/login').set('x-forwarded-for', address).send({ username, password: 'not-the-password' });
const rightLogin = (on: TestInstance, address: string, username: keyof typeof DEMO_USERS = 'alice') =>
  request(on.url).post('/api/login').set('x-forwarded-for', address).send({ username, password: DEMO_USERS[username] });
/**
 * A client at an address of its own: the 4xx logins other tests (and files) send as alice from loopback count
 * against loopback's alice in the shared Redis, and three of them would refuse this client's login.
 */
const newClient = () => new TestClient(undefined, undefined, uniqueAddress());

describe.each([
  { mode: 'redis', env: { SESSION_STORE: 'redis' } },
  { mode: 'memory', env: { SESSION_STORE: 'memory' } },
])('hostile and malformed input ($mode store)', ({ mode, env }) => {
  let app: TestInstance;

  beforeAll(async () => {
    app = await startInstance({ ...env, INSTANCE_ID: `abuse-${mode}`, TRUST_PROXY: '1', LOGIN_MAX_FAILURES: '3' });
  });
  afterAll(async () => {
    await app.close();
  });

  describe('request bodies', () => {
    test('when the JSON is malformed, then 400 invalid_json', async () => {
      const client = newClient();
      await client.login(app);

      const login = await request(app.url).post('/api/login').set({ 'content-type': 'application/json', 'x-forwarded-for': uniqueAddress() }).send('{"username": "alice", ');
      const cart = await as(client, app, 'post', '/api/cart/items').set('content-type', 'application/json').send('{productId: tea}');

      expect(login.status).toBe(400);
      expect(login.body.error).toBe('invalid_json');
      expect(cart.status).toBe(400);
      expect(cart.body.error).toBe('invalid_json');
      expect((await client.get(app, '/api/cart')).body.items).toEqual([]);
    });

    test('when the body is larger than 16 KB, then 413 payload_too_large', async () => {
      const res = await request(app.url)
        .post('/api/login')
        .set('x-forwarded-for', uniqueAddress())
        .send({ username: 'alice', password: 'x'.repeat(17 * 1024) });

      expect(res.status).toBe(413);
      expect(res.body.error).toBe('payload_too_large');
    });

    test('when the login body has an unknown field, then 400 invalid_body naming it', async () => {
      const res = await request(app.url).post('/api/login').set('x-forwarded-for', uniqueAddress()).send({ username: 'alice', password: DEMO_USERS.alice, isAdmin: true });

      expect(res.status).toBe(400);
      expect(res.body.error).toBe('invalid_body');
      expect(res.body.message).toContain('isAdmin');
      expect(res.headers['set-cookie']).toBeUndefined();
    });

    test('when the cart body has an unknown field, then 400 invalid_body naming it and the cart is unchanged', async () => {
      const client = newClient();
      await client.login(app);

      const res = await client.post(app, '/api/cart/items', { productId: 'tea', quantity: 1, price: 0 });

      expect(res.status).toBe(400);
      expect(res.body.error).toBe('invalid_body');
      expect(res.body.message).toContain('price');
      expect((await client.get(app, '/api/cart')).body.items).toEqual([]);
    });

    test.each([
      ['a numeric username', 'username', { username: 42, password: 'x' }],
      ['an array password', 'password', { username: 'alice', password: ['wonderland'] }],
      ['an object username', 'username', { username: { $ne: '' }, password: 'x' }],
      ['a JSON array instead of an object', 'body', ['alice', 'wonderland']],
    ])('when the login has %s, then 400 invalid_body naming %s', async (_what, field, body) => {
      const res = await request(app.url).post('/api/login').set('x-forwarded-for', uniqueAddress()).send(body);

      expect(res.status).toBe(400);
      expect(res.body.error).toBe('invalid_body');
      expect(res.body.message).toContain(field);
    });

    test.each([
      ['a string quantity', 'quantity', { productId: 'tea', quantity: '2' }],
      ['a fractional quantity', 'quantity', { productId: 'tea', quantity: 1.5 }],
      ['a numeric productId', 'productId', { productId: 7, quantity: 1 }],
      ['a productId with a slash', 'productId', { productId: '../etc', quantity: 1 }],
    ])('when the cart add has %s, then 400 naming %s', async (_what, field, body) => {
      const client = newClient();
      await client.login(app);

      const res = await client.post(app, '/api/cart/items', body);

      expect(res.status).toBe(400);
      expect(res.body.error).toBe('invalid_body');
      expect(res.body.message).toContain(field);
    });

    test.each([
      ['text/plain', 'username=alice&password=wonderland'],
      ['application/x-www-form-urlencoded', 'username=alice&password=wonderland'],
    ])('when the login is sent as %s, then 400 and no session', async (type, body) => {
      const res = await request(app.url).post('/api/login').set({ 'content-type': type, 'x-forwarded-for': uniqueAddress() }).send(body);

      expect(res.status).toBe(400);
      expect(res.body.error).toBe('invalid_body');
      expect(res.headers['set-cookie']).toBeUndefined();
    });
  });

  describe('forged cookies', () => {
    test('when cookies are unsigned, signed with another secret, garbage or tampered, then each is 401 no_session and the real session is untouched', async () => {
      const victim = newClient();
      await victim.login(app);
      await victim.post(app, '/api/visits');
      const sid = victim.sessionId();
      const real = victim.cookie!.value;
      const forged = {
        'the bare id': sid,
        'the id marked signed but without signature': encodeURIComponent(`s:${sid}`),
        'the id signed with another secret': encodeURIComponent(`s:${sign(sid, 'attacker-secret-0123456789')}`),
        'a tampered signature': `${real.slice(0, -2)}${real.endsWith('AA') ? 'BB' : 'AA'}`,
        'a tampered id': real.replace(encodeURIComponent(`s:${sid}`), encodeURIComponent(`s:${sid.slice(0, -1)}${sid.endsWith('x') ? 'y' : 'x'}`)),
        garbage: '%%%%not=a;cookie',
        'a very long value': `s:${randomBytes(3000).toString('base64url')}`,
      };

      const results: Record<string, [number, string, number]> = {};
      for (const [what, value] of Object.entries(forged)) {
        const read = await request(app.url).get('/api/session').set('cookie', `sc.sid=${value}`);
        const write = await request(app.url).post('/api/visits').set({ cookie: `sc.sid=${value}`, 'x-csrf-token': victim.csrfToken });
        results[what] = [read.status, read.body.error, write.status];
      }

      for (const what of Object.keys(forged)) expect([what, ...results[what]!]).toEqual([what, 401, 'no_session', 401]);
      const after = await victim.get(app, '/api/session');
      expect(after.status).toBe(200);
      expect(after.body.visits).toBe(1);
      expect((await request(app.url).get('/healthz')).status).toBe(200);
    });

    test('when a cookie is correctly signed but names no session, then 401 session_expired (indistinguishable from an expired one)', async () => {
      const unknown = encodeURIComponent(`s:${sign(randomBytes(24).toString('base64url'), TEST_SECRET)}`);

      const res = await request(app.url).get('/api/session').set('cookie', `sc.sid=${unknown}`);

      expect(res.status).toBe(401);
      expect(res.body.error).toBe('session_expired');
      expect(res.headers['set-cookie']?.[0]).toMatch(/^sc\.sid=;/);
    });
  });

  describe('CSRF', () => {
    test.each([
      ['missing', ''],
      ['wrong', 'A'.repeat(32)],
      ['of another length', 'short'],
    ])('when the token is %s, then 403 csrf_invalid and neither the counter nor the cart changes', async (_what, token) => {
      const client = newClient();
      await client.login(app);
      await client.post(app, '/api/visits');
      await client.post(app, '/api/cart/items', { productId: 'tea', quantity: 1 });
      const real = client.csrfToken;
      client.csrfToken = token;

      const visit = await client.post(app, '/api/visits');
      const add = await client.post(app, '/api/cart/items', { productId: 'cake', quantity: 1 });
      const remove = await client.delete(app, '/api/cart/items/tea');

      expect([visit.status, add.status, remove.status]).toEqual([403, 403, 403]);
      expect([visit.body.error, add.body.error, remove.body.error]).toEqual(['csrf_invalid', 'csrf_invalid', 'csrf_invalid']);
      client.csrfToken = real;
      const view = await client.get(app, '/api/session');
      expect(view.body.visits).toBe(1);
      expect(view.body.cart.items).toEqual([{ productId: 'tea', quantity: 1 }]);
    });

    test('when another user’s token is sent, then 403', async () => {
      const alice = newClient();
      const bob = newClient();
      await alice.login(app, 'alice');
      await bob.login(app, 'bob');
      alice.csrfToken = bob.csrfToken;

      const res = await alice.post(app, '/api/visits');

      expect(res.status).toBe(403);
      expect(res.body.error).toBe('csrf_invalid');
    });
  });

  describe('session size cap', () => {
    let small: TestInstance;
    let redis: Redis | undefined;

    beforeAll(async () => {
      small = await startInstance({ ...env, INSTANCE_ID: `abuse-small-${mode}`, SESSION_MAX_BYTES: '1024', TRUST_PROXY: '1' });
      redis = mode === 'redis' ? new Redis(testRedisUrl()) : undefined;
    });
    afterAll(async () => {
      await small.close();
      await redis?.quit();
    });

    test('when adds would grow the session past SESSION_MAX_BYTES, then 413 session_too_large and the stored session stays as it was', async () => {
      const client = newClient();
      await client.login(small);
      await client.post(small, '/api/visits');
      const key = `sess:${client.sessionId()}`;

      let accepted: { productId: string; quantity: number }[] = [];
      let refused: { status: number; body: { error: string; message: string } } | undefined;
      let refusedProduct = '';
      let storedBefore: string | null = null;
      for (let i = 0; i < 100 && !refused; i++) {
        storedBefore = redis ? await redis.get(key) : null;
        const productId = `product-with-a-long-name-${String(i).padStart(3, '0')}`;
        const res = await client.post(small, '/api/cart/items', { productId, quantity: 1 });
        if (res.status === 200) accepted = res.body.items;
        else [refused, refusedProduct] = [res, productId];
      }

      expect(accepted.length).toBeGreaterThan(3);
      expect(refused?.status).toBe(413);
      expect(refused?.body.error).toBe('session_too_large');
      expect(refused?.body.message).toContain('1024');
      const cart = await client.get(small, '/api/cart');
      expect(cart.status).toBe(200);
      expect(cart.body.items).toEqual(accepted);
      expect(cart.body.items.map((i: { productId: string }) => i.productId)).not.toContain(refusedProduct);
      if (redis) {
        expect(await redis.get(key)).toBe(storedBefore);
        expect(Buffer.byteLength(storedBefore!)).toBeLessThanOrEqual(1024);
      }
      // The session still works: the counter moves, an item can be removed and then a new one fits.
      expect((await client.post(small, '/api/visits')).body.visits).toBe(2);
      expect((await client.delete(small, `/api/cart/items/${accepted[0]!.productId}`)).status).toBe(200);
      expect((await client.post(small, '/api/cart/items', { productId: 'tea', quantity: 1 })).status).toBe(200);
    });
  });

  describe('login brute force', () => {
    test('when a client fails LOGIN_MAX_FAILURES times, then the next attempt is 429 too_many_attempts with Retry-After, even with the right password', async () => {
      const address = uniqueAddress();

      const failures = [];
      for (let i = 0; i < 3; i++) failures.push((await wrongLogin(app, address)).status);
      const blocked = await wrongLogin(app, address);
      const blockedRight = await rightLogin(app, address);

      expect(failures).toEqual([401, 401, 401]);
      expect(blocked.status).toBe(429);
      expect(blocked.body.error).toBe('too_many_attempts');
      expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
      expect(blockedRight.status).toBe(429);
      expect(blockedRight.headers['set-cookie']).toBeUndefined();
    });

    test('when logins succeed between failures, then the successes do not count toward the limit', async () => {
      const address = uniqueAddress();

      const statuses = [];
      for (const attempt of [wrongLogin, wrongLogin, rightLogin, rightLogin, rightLogin, wrongLogin, wrongLogin]) {
        statuses.push((await attempt(app, address)).status);
      }

      expect(statuses).toEqual([401, 401, 200, 200, 200, 401, 429]);
    });

    test('when one address is blocked for a user, then another address and another user are not', async () => {
      const address = uniqueAddress();
      for (let i = 0; i < 4; i++) await wrongLogin(app, address, 'bob');

      const sameUser = await rightLogin(app, address, 'bob');
      const otherAddress = await rightLogin(app, uniqueAddress(), 'bob');
      const otherUser = await rightLogin(app, address, 'carol');

      expect(sameUser.status).toBe(429);
      expect(otherAddress.status).toBe(200);
      expect(otherUser.status).toBe(200);
    });
  });

  describe('cross-site requests', () => {
    const host = () => new URL(app.url).host;

    test.each([
      ['Sec-Fetch-Site: cross-site', { 'sec-fetch-site': 'cross-site' }, 'Sec-Fetch-Site: cross-site'],
      ['Sec-Fetch-Site: same-site (a sibling subdomain or another port)', { 'sec-fetch-site': 'same-site' }, 'Sec-Fetch-Site: same-site'],
      ['an Origin of another site', { origin: 'https://evil.example' }, 'Origin: https://evil.example'],
      ['an Origin of the same host on another port', { origin: 'http://127.0.0.1:1' }, 'Origin: http://127.0.0.1:1'],
      ['Origin: null (a sandboxed frame)', { origin: 'null' }, 'Origin: null'],
    ])('when a state-changing request carries %s, then 403 cross_site_request naming it, and the session is unchanged', async (_what, headers, named) => {
      const client = newClient();
      await client.login(app);
      await client.post(app, '/api/visits');

      const visit = await client.post(app, '/api/visits', undefined, headers);
      const add = await client.post(app, '/api/cart/items', { productId: 'tea', quantity: 1 }, headers);
      const revoke = await client.delete(app, '/api/sessions', headers);
      const logout = await client.post(app, '/api/logout', undefined, headers);
      const login = await new TestClient().post(app, '/api/login', { username: 'bob', password: DEMO_USERS.bob }, headers);

      for (const res of [visit, add, revoke, logout, login]) {
        expect([res.status, res.body.error]).toEqual([403, 'cross_site_request']);
        expect(res.body.message).toContain(named);
      }
      expect(login.headers['set-cookie']).toBeUndefined();
      const view = await client.get(app, '/api/session');
      expect(view.status).toBe(200);
      expect(view.body.visits).toBe(1);
      expect(view.body.cart.items).toEqual([]);
    });

    test('when a request comes from the page itself (same-origin, or typed: none), then it passes on its token as before', async () => {
      const client = newClient();
      const own = { origin: `http://${host()}`, 'sec-fetch-site': 'same-origin' };

      const login = await client.post(app, '/api/login', { username: 'carol', password: DEMO_USERS.carol }, own);
      client.csrfToken = login.body.csrfToken;
      const visit = await client.post(app, '/api/visits', undefined, { ...own, 'sec-fetch-site': 'none' });
      const noToken = await client.post(app, '/api/visits', undefined, { ...own, 'x-csrf-token': '' });
      const logout = await client.post(app, '/api/logout', undefined, own);

      expect(login.status).toBe(200);
      expect(visit.status).toBe(200);
      expect(noToken.body.error).toBe('csrf_invalid');
      expect(logout.status).toBe(204);
    });

    test('when the Host header has no port (nginx passes $host), then an Origin on the same host name passes', async () => {
      const res = await request(app.url)
        .post('/api/login')
        .set({ host: '127.0.0.1', origin: 'http://127.0.0.1:8080', 'x-forwarded-for': uniqueAddress() })
        .send({ username: 'alice', password: DEMO_USERS.alice });

      expect(res.status).toBe(200);
    });

    test('when a cross-site request only reads (GET), then it is answered: links to the app keep working', async () => {
      const client = newClient();
      await client.login(app);

      const res = await request(app.url).get('/api/session').set({ cookie: `sc.sid=${client.cookie!.value}`, 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' });

      expect(res.status).toBe(200);
    });
  });

  describe('session handles and paths', () => {
    test.each([
      ['too short', 'abc'],
      ['too long', 'A'.repeat(23)],
      ['with forbidden characters', 'AAAAAAAAAAAAAAAAAAAA.!'],
    ])('when the handle to revoke is %s, then 400 invalid_handle', async (_what, handle) => {
      const client = newClient();
      await client.login(app);

      const res = await client.delete(app, `/api/sessions/${encodeURIComponent(handle)}`);

      expect(res.status).toBe(400);
      expect(res.body.error).toBe('invalid_handle');
      expect((await client.get(app, '/api/session')).status).toBe(200);
    });

    test('when the handle is well-formed but unknown, then 404 session_not_found', async () => {
      const client = newClient();
      await client.login(app);

      const res = await client.delete(app, `/api/sessions/${randomBytes(16).toString('base64url').slice(0, 22)}`);

      expect(res.status).toBe(404);
      expect(res.body.error).toBe('session_not_found');
    });

    test.each([
      ['delete', '/api/sessions/%E0%A4%A', 400, 'bad_request'],
      ['delete', '/api/cart/items/%ZZ', 400, 'bad_request'],
      ['get', '/api/%', 404, 'not_found'],
      ['get', '/%E0%A4%A', 404, 'not_found'],
      ['get', '/%ZZ.html', 404, 'not_found'],
    ] as const)('when %s %s has a malformed percent-escape, then a JSON %i %s, not a 500', async (method, path, status, code) => {
      const client = newClient();
      await client.login(app);

      const res = await as(client, app, method, path);

      expect(res.status).toBe(status);
      expect(res.body.error).toBe(code);
      expect((await client.get(app, '/api/session')).status).toBe(200);
    });
  });
});

describe('login brute force across two instances (redis store)', () => {
  let a: TestInstance;
  let b: TestInstance;

  beforeAll(async () => {
    const env = { TRUST_PROXY: '1', LOGIN_MAX_FAILURES: '3' };
    a = await startInstance({ ...env, INSTANCE_ID: 'abuse-a' });
    b = await startInstance({ ...env, INSTANCE_ID: 'abuse-b' });
  });
  afterAll(async () => {
    await Promise.all([a.close(), b.close()]);
  });

  test('when failures are spread over two instances, then they add up: 2 on A and 1 on B make the next one on A 429', async () => {
    const address = uniqueAddress();

    const statuses = [(await wrongLogin(a, address)).status, (await wrongLogin(a, address)).status, (await wrongLogin(b, address)).status];
    const next = await wrongLogin(a, address);
    const onB = await rightLogin(b, address);

    expect(statuses).toEqual([401, 401, 401]);
    expect(next.status).toBe(429);
    expect(next.body.error).toBe('too_many_attempts');
    expect(onB.status).toBe(429);
  });
});


describe('cookie flags (redis store)', () => {
  let behindProxy: TestInstance;
  let direct: TestInstance;

  beforeAll(async () => {
    behindProxy = await startInstance({ INSTANCE_ID: 'abuse-https', TRUST_PROXY: '1' });
    direct = await startInstance({ INSTANCE_ID: 'abuse-direct', TRUST_PROXY: '0' });
  });
  afterAll(async () => {
    await Promise.all([behindProxy.close(), direct.close()]);
  });

  const loginOver = (on: TestInstance, proto: string) =>
    request(on.url).post('/api/login').set({ 'x-forwarded-proto': proto, 'x-forwarded-for': uniqueAddress() }).send({ username: 'alice', password: DEMO_USERS.alice });

  test('when the trusted proxy says https, then the cookie is Secure, HttpOnly, SameSite=Lax, host-only and named sc.sid', async () => {
    const res = await loginOver(behindProxy, 'https');
    const cookie = ([] as string[]).concat(res.headers['set-cookie'] ?? [])[0] ?? '';

    expect(res.status).toBe(200);
    expect(cookie).toMatch(/^sc\.sid=s%3A/);
    const attributes = cookie.split('; ').slice(1);
    expect(attributes.filter((a) => !a.startsWith('Expires=')).sort()).toEqual(['HttpOnly', 'Path=/', 'SameSite=Lax', 'Secure']);
    expect(attributes.filter((a) => a.startsWith('Expires='))).toHaveLength(1);
  });

  test('when the request is plain http, or X-Forwarded-Proto comes from an untrusted client, then the cookie is not Secure', async () => {
    const plain = await loginOver(behindProxy, 'http');
    const spoofed = await loginOver(direct, 'https');

    for (const res of [plain, spoofed]) {
      expect(res.status).toBe(200);
      expect(res.headers['set-cookie']?.[0]).toMatch(/; HttpOnly/);
      expect(res.headers['set-cookie']?.[0]).not.toMatch(/Secure/);
    }
  });
});

describe('login rate limiting while Redis is unreachable (redis store)', () => {
  let owned: OwnedRedis;
  let app: TestInstance;

  beforeAll(async () => {
    owned = await startOwnedRedis();
    app = await startInstance({ REDIS_URL: owned.url, INSTANCE_ID: 'abuse-outage', TRUST_PROXY: '1', LOGIN_MAX_FAILURES: '3' });
  });
  afterAll(async () => {
    await app.close();
    await owned.destroy();
  });

  test('when Redis stops, then login fails closed (503 redis_unavailable, the right password included, nothing checked), and once it is back the limit holds again', async () => {
    const address = uniqueAddress();
    const before = [(await wrongLogin(app, address)).status, (await wrongLogin(app, address)).status];

    await owned.stop();
    const during = [];
    for (const attempt of [wrongLogin, rightLogin, wrongLogin, wrongLogin, wrongLogin]) during.push(await attempt(app, address));
    await owned.start();
    // The first answers after the restart may still be 503 (reconnecting, scripts reloading).
    let first = await wrongLogin(app, address);
    for (const deadline = Date.now() + 5000; first.status === 503 && Date.now() < deadline; ) {
      await sleep(100);
      first = await wrongLogin(app, address);
    }
    // This Redis keeps nothing across a restart, so the count starts again (the cluster's AOF keeps it).
    const after = [first.status, (await wrongLogin(app, address)).status, (await wrongLogin(app, address)).status];
    const blocked = await rightLogin(app, address);

    expect(before).toEqual([401, 401]);
    for (const res of during) {
      expect([res.status, res.body.error, res.headers['retry-after']]).toEqual([503, 'redis_unavailable', '1']);
      expect(res.headers['set-cookie']).toBeUndefined();
    }
    expect(after).toEqual([401, 401, 401]);
    expect(blocked.status).toBe(429);
    expect(blocked.body.error).toBe('too_many_attempts');
  });

  test('when an instance started while Redis was down, then once Redis answers its very first login attempt is counted and answered (not a 503)', async () => {
    await owned.stop();
    const cold = await startInstance({ REDIS_URL: owned.url, INSTANCE_ID: 'abuse-cold', TRUST_PROXY: '1', LOGIN_MAX_FAILURES: '3' }, { waitForRedis: false });
    try {
      await sleep(1500); // the limiter's start-up script load has failed by now (REDIS_COMMAND_TIMEOUT_MS)
      await owned.start();
      for (const deadline = Date.now() + 5000; (await request(cold.url).get('/readyz')).status !== 200 && Date.now() < deadline; ) await sleep(100);
      const address = uniqueAddress();

      const first = await wrongLogin(cold, address);
      const next = [(await wrongLogin(cold, address)).status, (await wrongLogin(cold, address)).status, (await wrongLogin(cold, address)).status];

      expect(first.status).toBe(401);
      expect(next).toEqual([401, 401, 429]);
    } finally {
      await cold.close();
    }
  });
});

describe('the Redis ACL user of redis/session-app.acl (redis store)', () => {
  const username = `session-app-test-${randomBytes(4).toString('hex')}`;
  const password = randomBytes(16).toString('hex');
  let admin: Redis;
  let app: TestInstance;

  beforeAll(async () => {
    admin = new Redis(testRedisUrl());
    await createAppUser(admin, username, password);
    await admin.acl('LOG', 'RESET');
    app = await startInstance({ INSTANCE_ID: 'abuse-acl', TRUST_PROXY: '1', REDIS_USERNAME: username, REDIS_PASSWORD: password });
  });
  afterAll(async () => {
    await app.close();
    await admin.acl('DELUSER', username);
    await admin.quit();
  });

  test('when the app runs as that user, then every route works and Redis logs no refused command or key', async () => {
    // The other test's refusals are logged too: start from an empty log whatever ran first (--randomize).
    await admin.acl('LOG', 'RESET');
    const address = uniqueAddress();
    const phone = newClient();
    const laptop = newClient();

    const statuses: Record<string, number> = {};
    statuses['failed login'] = (await wrongLogin(app, address, 'bob')).status;
    statuses['login'] = (await rightLogin(app, address, 'bob')).status;
    await phone.login(app, 'bob');
    await laptop.login(app, 'bob');
    statuses['GET /api/session'] = (await laptop.get(app, '/api/session')).status;
    statuses['POST /api/visits'] = (await laptop.post(app, '/api/visits')).status;
    statuses['POST /api/cart/items'] = (await laptop.post(app, '/api/cart/items', { productId: 'tea', quantity: 2 })).status;
    statuses['DELETE /api/cart/items/tea'] = (await laptop.delete(app, '/api/cart/items/tea')).status;
    statuses['GET /api/cart'] = (await laptop.get(app, '/api/cart')).status;
    const listing = await laptop.get(app, '/api/sessions');
    statuses['GET /api/sessions'] = listing.status;
    const other = (listing.body.sessions as { handle: string; current: boolean }[]).find((s) => !s.current)!;
    statuses['DELETE /api/sessions/:handle'] = (await laptop.delete(app, `/api/sessions/${other.handle}`)).status;
    statuses['revoked session'] = (await phone.get(app, '/api/session')).status;
    statuses['DELETE /api/sessions'] = (await laptop.delete(app, '/api/sessions')).status;
    statuses['POST /api/reauth'] = (await laptop.post(app, '/api/reauth', { password: DEMO_USERS.bob })).status;
    statuses['GET /api/sessions/:handle/activity'] = (await laptop.get(app, `/api/sessions/${other.handle}/activity`)).status;
    const adminClient = newClient();
    await adminClient.login(app, 'admin');
    statuses['GET /api/admin/users/:userId/sessions'] = (await adminClient.get(app, '/api/admin/users/u-carol/sessions')).status;
    statuses['DELETE /api/admin/users/:userId/sessions'] = (await adminClient.delete(app, '/api/admin/users/u-carol/sessions')).status;
    statuses['GET /api/cluster'] = (await request(app.url).get('/api/cluster')).status;
    statuses['GET /api/stats'] = (await request(app.url).get('/api/stats')).status;
    statuses['GET /metrics'] = (await request(app.url).get('/metrics')).status;
    const live = await request(app.url).get('/api/cluster/instances');
    statuses['GET /api/cluster/instances'] = live.status;
    statuses['GET /api/cluster/events'] = (await request(app.url).get('/api/cluster/events')).status;
    statuses['GET /readyz'] = (await request(app.url).get('/readyz')).status;
    statuses['POST /api/logout'] = (await laptop.post(app, '/api/logout')).status;
    statuses['logged-out cookie'] = (await laptop.get(app, '/api/session')).status;
    const refused = (await admin.acl('LOG')) as unknown[][];

    expect(statuses).toEqual({
      'failed login': 401,
      login: 200,
      'GET /api/session': 200,
      'POST /api/visits': 200,
      'POST /api/cart/items': 200,
      'DELETE /api/cart/items/tea': 200,
      'GET /api/cart': 200,
      'GET /api/sessions': 200,
      'DELETE /api/sessions/:handle': 204,
      'revoked session': 401,
      'DELETE /api/sessions': 204,
      'POST /api/reauth': 200,
      'GET /api/sessions/:handle/activity': 200,
      'GET /api/admin/users/:userId/sessions': 200,
      'DELETE /api/admin/users/:userId/sessions': 200,
      'GET /api/cluster': 200,
      'GET /api/stats': 200,
      'GET /metrics': 200,
      'GET /api/cluster/instances': 200,
      'GET /api/cluster/events': 200,
      'GET /readyz': 200,
      'POST /api/logout': 204,
      'logged-out cookie': 401,
    });
    expect(refused.map((entry) => entry.map(String).join(' ')).filter((line) => line.includes(username))).toEqual([]);
    // The live view read its board as that user (its heartbeats, running meanwhile, are in the ACL log if refused).
    expect(live.body.stale).toBe(false);
  });

  test('when that user tries anything else, then Redis refuses it: FLUSHALL, CONFIG, KEYS, DEBUG, ACL, and keys outside its patterns', async () => {
    const asApp = new Redis(testRedisUrl(), { username, password, enableReadyCheck: false, maxRetriesPerRequest: 0 });
    const attempts: [string, ...string[]][] = [
      ['FLUSHALL'],
      ['CONFIG', 'GET', 'maxmemory'],
      ['KEYS', '*'],
      ['SCAN', '0'],
      ['DEBUG', 'SLEEP', '0'],
      ['ACL', 'WHOAMI'],
      ['SET', 'somebody-else:key', 'x'],
      ['GET', 'somebody-else:key'],
      ['EVAL', "return redis.call('GET', KEYS[1])", '1', 'somebody-else:key'],
    ];

    const answers: Record<string, string> = {};
    const dryRuns: Record<string, string> = {};
    for (const [command, ...args] of attempts) {
      const attempt = [command, ...args].join(' ');
      answers[attempt] = await asApp.call(command, ...args).then(
        (reply) => `allowed: ${String(reply)}`,
        (err: Error) => err.message.split(' ')[0]!,
      );
      // What the ACL alone says (DEBUG is also refused by enable-debug-command, before the ACL is asked).
      dryRuns[attempt] = String(await admin.call('ACL', 'DRYRUN', username, command, ...args));
    }
    const ownKey = await asApp.call('SET', `sess:acl-test-${username}`, 'x', 'PX', '1000');
    asApp.disconnect();

    for (const [attempt, answer] of Object.entries(answers)) {
      expect([attempt, answer]).toEqual([attempt, attempt.startsWith('DEBUG') ? 'ERR' : 'NOPERM']);
      // Redis 7.0 says "This user has no permissions…", 8.0 names the user.
      expect([attempt, dryRuns[attempt]]).toEqual([attempt, expect.stringMatching(/^(This user|User \S+) has no permissions to (run|access)/)]);
    }
    expect(ownKey).toBe('OK');
  });
});
