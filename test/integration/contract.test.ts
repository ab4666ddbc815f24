import request from 'supertest';
import { TestClient } from '../helpers/client';
import { startInstance, storeModes, type TestInstance } from '../helpers/instance';

/** Every row of the HTTP contract (docs/http-contract.md), in every store mode. */
describe.each(storeModes())('HTTP contract ($mode store)', ({ mode, store, env }) => {
  let app: TestInstance;

  beforeAll(async () => {
    app = await startInstance({ ...env, INSTANCE_ID: `contract-${mode}` });
  });
  afterAll(async () => {
    await app.close();
  });

  describe('POST /api/login', () => {
    test('when the credentials are right, then it answers the user, a session view and a CSRF token, and sets a hardened cookie', async () => {
      const client = new TestClient();

      const res = await client.login(app, 'alice');

      expect(res.headers['x-served-by']).toBe(`contract-${mode}`);
      expect(res.body.user).toEqual({ id: 'u-alice', username: 'alice', displayName: 'Alice', role: 'user' });
      expect(res.body.csrfToken).toMatch(/^[A-Za-z0-9_-]{32}$/);
      expect(res.body.session).toMatchObject({
        user: res.body.user,
        visits: 0,
        cart: { items: [] },
        createdBy: `contract-${mode}`,
        servedBy: `contract-${mode}`,
      });
      expect(res.body.session.handle).toMatch(/^[A-Za-z0-9_-]{22}$/);
      const cookie = client.cookie!.raw;
      expect(cookie).toMatch(/^sc\.sid=s%3A/);
      expect(cookie).toMatch(/HttpOnly/);
      expect(cookie).toMatch(/SameSite=Lax/);
      expect(cookie).not.toMatch(/Secure/); // plain http here; Secure is set behind https
      expect(JSON.stringify(res.body)).not.toContain(client.sessionId());
    });

    test('when a logged-in client logs in again, then it gets a new session id and the old cookie is refused', async () => {
      const client = new TestClient();
      await client.login(app);
      const oldCookie = client.cookie!;

      await client.login(app);

      expect(client.cookie!.value).not.toBe(oldCookie.value);
      const replay = await request(app.url).get('/api/session').set('cookie', `sc.sid=${oldCookie.value}`);
      expect(replay.status).toBe(401);
    });

    test('when a cookie was set before login, then login replaces it (no fixation)', async () => {
      const attacker = new TestClient();
      await attacker.login(app, 'bob');
      const planted = attacker.cookie!.value;
      const victim = new TestClient();
      victim.cookie = { value: planted, raw: planted };

      await victim.login(app, 'alice');

      expect(victim.cookie!.value).not.toBe(planted);
      const asAttacker = await attacker.get(app, '/api/session');
      expect(asAttacker.status).toBe(401);
    });

    test('when the password is wrong, then 401 invalid_credentials and no cookie', async () => {
      const res = await request(app.url).post('/api/login').send({ username: 'alice', password: 'nope' });

      expect(res.status).toBe(401);
      expect(res.body.error).toBe('invalid_credentials');
      expect(res.headers['set-cookie']).toBeUndefined();
    });

    test('when the user does not exist, then the same 401', async () => {
      const res = await request(app.url).post('/api/login').send({ username: 'mallory', password: 'x' });

      expect(res.status).toBe(401);
      expect(res.body.error).toBe('invalid_credentials');
    });

    test('when the body is missing a field, then 400 naming it', async () => {
      const res = await request(app.url).post('/api/login').send({ username: 'alice' });

      expect(res.status).toBe(400);
      expect(res.body.error).toBe('invalid_body');
      expect(res.body.message).toContain('password');
    });
  });

  describe('POST /api/logout', () => {
    test('when logged in, then 204, the cookie is cleared and the session is gone from the store', async () => {
      const client = new TestClient();
      await client.login(app);
      const sid = client.sessionId();
      const oldCookie = client.cookie!.value;

      const res = await client.post(app, '/api/logout');

      expect(res.status).toBe(204);
      expect(String(res.headers['set-cookie'])).toMatch(/sc\.sid=;/);
      expect(client.cookie).toBeUndefined();
      const replay = await request(app.url).get('/api/session').set('cookie', `sc.sid=${oldCookie}`);
      expect(replay.status).toBe(401);
      expect(replay.body.error).toBe('no_session');
      if (app.redis) expect(await app.redis.exists(`sess:${sid}`)).toBe(0);
    });

    test('when not logged in, then 401 no_session', async () => {
      const res = await request(app.url).post('/api/logout');

      expect(res.status).toBe(401);
      expect(res.body).toEqual({ error: 'no_session', message: expect.any(String) });
    });
  });

  describe('GET /api/session', () => {
    test('when logged in, then the whole SessionView, with ISO times in order', async () => {
      const client = new TestClient();
      await client.login(app, 'carol');

      const res = await client.get(app, '/api/session');

      expect(res.status).toBe(200);
      expect(Object.keys(res.body).sort()).toEqual(
        ['absoluteExpiresAt', 'authenticatedAt', 'cart', 'createdAt', 'createdBy', 'csrfToken', 'handle', 'idleExpiresAt', 'lastSeenAt', 'lifetime', 'recentLoginUntil', 'servedBy', 'user', 'visits'].sort(),
      );
      const { createdAt, lastSeenAt, idleExpiresAt, absoluteExpiresAt } = res.body;
      expect(Date.parse(createdAt)).toBeLessThanOrEqual(Date.parse(lastSeenAt));
      expect(Date.parse(lastSeenAt)).toBeLessThan(Date.parse(idleExpiresAt));
      expect(Date.parse(idleExpiresAt)).toBeLessThanOrEqual(Date.parse(absoluteExpiresAt));
      expect(Date.parse(idleExpiresAt) - Date.parse(createdAt)).toBeGreaterThan(1_790_000); // 30 min idle by default
      expect(res.body.csrfToken).toBe(client.csrfToken);
    });

    test('when there is no cookie, then 401 no_session', async () => {
      const res = await request(app.url).get('/api/session');

      expect(res.status).toBe(401);
      expect(res.body.error).toBe('no_session');
    });
  });

  describe('POST /api/visits', () => {
    test('when called three times, then the counter reads 1, 2, 3 and the view agrees', async () => {
      const client = new TestClient();
      await client.login(app);

      const counts = [];
      for (let i = 0; i < 3; i++) counts.push((await client.post(app, '/api/visits')).body.visits);

      expect(counts).toEqual([1, 2, 3]);
      expect((await client.get(app, '/api/session')).body.visits).toBe(3);
    });

    test('when the CSRF header is missing, then 403 csrf_invalid', async () => {
      const client = new TestClient();
      await client.login(app);
      client.csrfToken = '';

      const res = await client.post(app, '/api/visits');

      expect(res.status).toBe(403);
      expect(res.body.error).toBe('csrf_invalid');
    });
  });

  describe('cart', () => {
    test('when items are added and removed, then GET /api/cart reflects each change', async () => {
      const client = new TestClient();
      await client.login(app);

      const first = await client.post(app, '/api/cart/items', { productId: 'apple', quantity: 2 });
      await client.post(app, '/api/cart/items', { productId: 'pear', quantity: 1 });
      const again = await client.post(app, '/api/cart/items', { productId: 'apple', quantity: 3 });
      const removed = await client.delete(app, '/api/cart/items/pear');
      const cart = await client.get(app, '/api/cart');

      expect(first.body).toEqual({ items: [{ productId: 'apple', quantity: 2 }] });
      expect(again.body.items).toEqual([
        { productId: 'apple', quantity: 5 },
        { productId: 'pear', quantity: 1 },
      ]);
      expect(removed.body).toEqual({ items: [{ productId: 'apple', quantity: 5 }] });
      expect(cart.status).toBe(200);
      expect(cart.body).toEqual({ items: [{ productId: 'apple', quantity: 5 }] });
    });

    test('when the quantity is out of range, then 400 and the cart is unchanged', async () => {
      const client = new TestClient();
      await client.login(app);
      await client.post(app, '/api/cart/items', { productId: 'apple', quantity: 1 });

      const res = await client.post(app, '/api/cart/items', { productId: 'apple', quantity: 0 });

      expect(res.status).toBe(400);
      expect(res.body.error).toBe('invalid_body');
      expect((await client.get(app, '/api/cart')).body.items).toEqual([{ productId: 'apple', quantity: 1 }]);
    });

    test('when not logged in, then 401', async () => {
      expect((await request(app.url).get('/api/cart')).status).toBe(401);
    });
  });

  describe('sessions across devices', () => {
    test('when a user has two devices, then both are listed with exactly one current, and one can revoke the other', async () => {
      const laptop = new TestClient('sc.sid', 'laptop-browser');
      const phone = new TestClient('sc.sid', 'phone-browser');
      await laptop.login(app, 'bob');
      await phone.login(app, 'bob');

      const listed = await laptop.get(app, '/api/sessions');

      expect(listed.status).toBe(200);
      const mine = listed.body.sessions as { handle: string; current: boolean; userAgent: string; createdBy: string }[];
      const phoneEntry = mine.find((s) => s.userAgent === 'phone-browser');
      expect(mine.filter((s) => s.current)).toHaveLength(1);
      expect(mine.find((s) => s.current)!.userAgent).toBe('laptop-browser');
      expect(phoneEntry).toMatchObject({ current: false, createdBy: `contract-${mode}` });
      expect(JSON.stringify(listed.body)).not.toContain(phone.sessionId());

      const revoked = await laptop.delete(app, `/api/sessions/${phoneEntry!.handle}`);

      expect(revoked.status).toBe(204);
      const onPhone = await phone.get(app, '/api/session');
      expect(onPhone.status).toBe(401);
      expect(onPhone.body.error).toBe('session_revoked');
      expect((await laptop.get(app, '/api/session')).status).toBe(200);
      await laptop.post(app, '/api/logout');
    });

    test('when "log out other devices" is used, then only the current session survives', async () => {
      const devices = [new TestClient(), new TestClient(), new TestClient()];
      for (const d of devices) await d.login(app, 'carol');
      const [here, ...others] = devices;

      const res = await here!.delete(app, '/api/sessions');

      expect(res.status).toBe(204);
      for (const other of others) expect((await other.get(app, '/api/session')).body.error).toBe('session_revoked');
      const listed = await here!.get(app, '/api/sessions');
      expect(listed.body.sessions).toHaveLength(1);
      expect(listed.body.sessions[0].current).toBe(true);
    });

    test('when the handle is not one of the user’s sessions, then 404', async () => {
      const alice = new TestClient();
      const bob = new TestClient();
      await alice.login(app, 'alice');
      await bob.login(app, 'bob');
      const bobsHandle = (await bob.get(app, '/api/session')).body.handle;

      const res = await alice.delete(app, `/api/sessions/${bobsHandle}`);

      expect(res.status).toBe(404);
      expect(res.body.error).toBe('session_not_found');
      expect((await bob.get(app, '/api/session')).status).toBe(200);
    });

    test('when revoking without the CSRF token, then 403 and nothing is revoked', async () => {
      const a = new TestClient();
      const b = new TestClient();
      await a.login(app, 'alice');
      await b.login(app, 'alice');
      a.csrfToken = 'wrong-token-wrong-token-wrong-tok';

      const res = await a.delete(app, '/api/sessions');

      expect(res.status).toBe(403);
      expect((await b.get(app, '/api/session')).status).toBe(200);
    });
  });

  describe('operations endpoints', () => {
    test('when GET /api/cluster, then the instance, the store mode and a session count, no secrets', async () => {
      const res = await request(app.url).get('/api/cluster');

      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ instance: `contract-${mode}`, store });
      expect(res.body.sessions).toEqual(expect.any(Number));
      if (mode === 'redis') {
        expect(res.body.redis).toMatchObject({ mode: 'standalone', role: 'primary', aof: { enabled: expect.any(Boolean) } });
      } else {
        expect(res.body.redis).toBeNull();
      }
      if (mode === 'redis-cluster') {
        const { state, shards, thisSession } = res.body.redisCluster;
        expect({ state, thisSession, primaries: shards.length }).toEqual({ state: 'ok', thisSession: null, primaries: 3 });
        const slots = shards.flatMap((shard: { slots: [number, number][] }) => shard.slots).sort((a: number[], b: number[]) => a[0]! - b[0]!);
        expect(slots.reduce((next: number, [from, to]: number[]) => (from === next ? to! + 1 : -1), 0)).toBe(16_384);
        for (const shard of shards) expect(shard.replicas).toEqual([expect.objectContaining({ health: 'online' })]);
      } else {
        expect(res.body.redisCluster).toBeNull();
      }
      expect(JSON.stringify(res.body)).not.toMatch(/secret|password/i);
    });

    test('when a logged-in request asks GET /api/cluster on a Redis Cluster, then it says which slot and primary hold its session', async () => {
      const client = new TestClient();
      await client.login(app, 'bob');

      const res = await client.get(app, '/api/cluster');

      expect(res.status).toBe(200);
      if (mode !== 'redis-cluster') {
        expect(res.body.redisCluster).toBeNull();
        return;
      }
      const { slot, primary } = res.body.redisCluster.thisSession;
      const holder = res.body.redisCluster.shards.find((shard: { slots: number[][] }) => shard.slots.some(([from, to]) => slot >= from! && slot <= to!));
      expect(holder.primary).toBe(primary);
    });

    test('when GET /api/cluster/instances and /api/cluster/events, then the live view: this instance up among those seen, its own two minutes, its events, never cached', async () => {
      const instances = await request(app.url).get('/api/cluster/instances');
      const events = await request(app.url).get('/api/cluster/events');

      expect(instances.status).toBe(200);
      expect(instances.headers['cache-control']).toBe('no-store');
      expect(instances.body).toMatchObject({ observedBy: `contract-${mode}`, store, shared: store === 'redis', stale: false, now: expect.any(String) });
      const self = instances.body.instances.find((instance: { id: string }) => instance.id === `contract-${mode}`);
      expect(self).toMatchObject({ state: 'up', ready: true, draining: false, figures: { requests: expect.any(Number), errors: expect.any(Number) } });
      expect(self.redis === null).toBe(store === 'memory');
      if (store === 'memory') expect(instances.body.instances).toHaveLength(1);
      expect(instances.body.history.requests).toHaveLength(120);
      expect(events.status).toBe(200);
      expect(events.headers['cache-control']).toBe('no-store');
      expect(events.body).toMatchObject({ observedBy: `contract-${mode}`, shared: store === 'redis', stale: false });
      expect(events.body.events.length).toBeGreaterThan(0);
      for (const event of events.body.events) expect(event).toMatchObject({ at: expect.any(String), type: expect.any(String), instance: expect.any(String) });
      // On the suite's shared Redis the other files' instances come and go too: this one's own start may be
      // past the 200 events listed by now.
      if (store === 'memory') expect(events.body.events).toEqual([expect.objectContaining({ type: 'up', instance: `contract-${mode}` })]);
    });

    test('when probed, then /healthz and /readyz answer 200 and /metrics is Prometheus text with request counts', async () => {
      const client = new TestClient();
      await client.login(app); // counted, whichever tests ran before
      expect((await client.get(app, '/api/session')).status).toBe(200);
      const health = await request(app.url).get('/healthz');
      const ready = await request(app.url).get('/readyz');
      const metrics = await request(app.url).get('/metrics');

      expect(health.status).toBe(200);
      expect(ready.status).toBe(200);
      expect(ready.body).toMatchObject({ status: 'ready', store: 'ok', draining: false });
      expect(metrics.headers['content-type']).toMatch(/text\/plain/);
      expect(metrics.text).toMatch(/sc_http_requests_total\{.*route="\/api\/login".*\} \d+/);
      expect(metrics.text).toMatch(/sc_sessions_created_total\{.*\} [1-9]/);
      expect(metrics.text).toMatch(/sc_store_command_duration_seconds_count\{.*operation="get".*\} \d+/);
    });

    test('when /metrics is asked for named metrics, then it answers only those, and an unknown name is 400 unknown_metric', async () => {
      const client = new TestClient();
      await client.login(app);

      const some = await request(app.url).get('/metrics?name=sc_http_requests_total&name=sc_live_redis_commands_total');
      const unknown = await request(app.url).get('/metrics?name=sc_http_requests_total&name=no_such_metric');

      expect(some.status).toBe(200);
      expect(some.headers['content-type']).toMatch(/text\/plain/);
      expect(some.text).toMatch(new RegExp(`sc_http_requests_total\\{.*route="/api/login".*instance="${app.config.instanceId}".*\\} \\d+`));
      expect(some.text).toContain('# TYPE sc_live_redis_commands_total counter');
      expect(some.text).not.toContain('sc_cluster_sessions_active'); // the statistics are not read
      expect(some.text).not.toContain('sc_http_request_duration_seconds');
      expect(unknown.status).toBe(400);
      expect(unknown.body).toMatchObject({ error: 'unknown_metric', message: 'no such metric: no_such_metric' });
    });

    test('when the app starts draining, then /readyz answers 503 but requests are still served', async () => {
      const draining = await startInstance({ ...env, INSTANCE_ID: 'draining' });
      try {
        draining.cluster.startDraining();

        const ready = await request(draining.url).get('/readyz');
        const health = await request(draining.url).get('/healthz');

        expect(ready.status).toBe(503);
        expect(ready.body.draining).toBe(true);
        expect(health.status).toBe(200);
      } finally {
        await draining.close();
      }
    });

    test('when a route does not exist, then a JSON 404 that still says who served it', async () => {
      const res = await request(app.url).get('/api/nothing-here');

      expect(res.status).toBe(404);
      expect(res.body.error).toBe('not_found');
      expect(res.headers['x-served-by']).toBe(`contract-${mode}`);
    });
  });
});
