import { randomBytes, randomInt } from 'node:crypto';
import { sign } from 'cookie-signature';
import Redis from 'ioredis';
import request from 'supertest';
import { DEMO_USERS, TestClient } from '../helpers/client';
import { TEST_SECRET, startInstance, testRedisUrl, type TestInstance } from '../helpers/instance';

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
      const client = new TestClient();
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
      const client = new TestClient();
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
      const client = new TestClient();
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
      const victim = new TestClient();
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
      const client = new TestClient();
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
      const alice = new TestClient();
      const bob = new TestClient();
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
      small = await startInstance({ ...env, INSTANCE_ID: `abuse-small-${mode}`, SESSION_MAX_BYTES: '1024' });
      redis = mode === 'redis' ? new Redis(testRedisUrl()) : undefined;
    });
    afterAll(async () => {
      await small.close();
      await redis?.quit();
    });

    test('when adds would grow the session past SESSION_MAX_BYTES, then 413 session_too_large and the stored session stays as it was', async () => {
      const client = new TestClient();
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

  describe('session handles and paths', () => {
    test.each([
      ['too short', 'abc'],
      ['too long', 'A'.repeat(23)],
      ['with forbidden characters', 'AAAAAAAAAAAAAAAAAAAA.!'],
    ])('when the handle to revoke is %s, then 400 invalid_handle', async (_what, handle) => {
      const client = new TestClient();
      await client.login(app);

      const res = await client.delete(app, `/api/sessions/${encodeURIComponent(handle)}`);

      expect(res.status).toBe(400);
      expect(res.body.error).toBe('invalid_handle');
      expect((await client.get(app, '/api/session')).status).toBe(200);
    });

    test('when the handle is well-formed but unknown, then 404 session_not_found', async () => {
      const client = new TestClient();
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
      const client = new TestClient();
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

