import type { Response } from 'supertest';
import type { DegradedSessionView } from '../../app/src/http-contract';
import { SESSION_PREFIX } from '../../app/src/session/keys';
import { sleep, waitFor } from '../../toolkit/time';
import { TestClient } from '../helpers/client';
import { startInstance, type TestInstance } from '../helpers/instance';
import { redisProxy } from '../helpers/redis-proxy';
import { ownedRedisForFile } from '../helpers/owned-redis';
import { reportFigures } from '../helpers/stack';

/*
 * REDIS_DOWN_POLICY=read-only (app/src/session/snapshot.ts): while the store cannot be reached, GET /api/session
 * answers from the signed snapshot cookie, every write still answers 503, and nothing the snapshot says is ever
 * written back. The app reaches a Redis of this file's own through a TCP proxy: cutting the proxy makes the
 * store unreachable while its data stays, so the test can compare what Redis holds before and after.
 */
jest.setTimeout(30_000);

const SNAPSHOT = 'sc.sid.snap';
const FAST_MS = 1500;

const redis = ownedRedisForFile();
let proxy: Awaited<ReturnType<typeof redisProxy>>;
let app: TestInstance | undefined;

beforeEach(async () => {
  proxy = await redisProxy(redis.owned.port);
});
afterEach(async () => {
  await app?.close();
  app = undefined;
  await proxy.close();
});

const readOnlyApp = (env: Record<string, string> = {}) => startInstance({ REDIS_URL: proxy.url, INSTANCE_ID: 'degraded', REDIS_DOWN_POLICY: 'read-only', ...env });

const snapshotSet = (res: Response) => ([] as string[]).concat(res.headers['set-cookie'] ?? []).find((raw) => raw.startsWith(`${SNAPSHOT}=`));

/** Waits until the app reaches the store again (its own session read answers from Redis, not the snapshot). */
async function untilStoreBack(client: TestClient, on: TestInstance): Promise<Response> {
  let last: Response | undefined;
  await waitFor('the store back', async () => {
    last = await client.get(on, '/api/session');
    return last.status !== 503 && last.body.degraded !== true;
  }, 10_000, 100);
  return last!;
}

describe('reading sessions while Redis is down (REDIS_DOWN_POLICY=read-only)', () => {
  test('when the store is cut off, then a logged-in GET /api/session answers 200 degraded from the snapshot, every write 503, and once it is back nothing was written: Redis holds the session byte for byte as before', async () => {
    app = await readOnlyApp();
    const client = new TestClient();
    const login = await client.login(app);
    await client.post(app, '/api/visits');
    await client.post(app, '/api/cart/items', { productId: 'tea', quantity: 2 });
    const before = (await client.get(app, '/api/session')).body;
    const key = `${SESSION_PREFIX}${client.sessionId()}`;
    const stored = await redis.admin.getBuffer(key);
    const snapshotHeader = snapshotSet(login)!;

    await proxy.cut();
    const started = performance.now();
    const read = await client.get(app, '/api/session');
    const readMs = Math.round(performance.now() - started);
    const visit = await client.post(app, '/api/visits');
    const cart = await client.post(app, '/api/cart/items', { productId: 'milk', quantity: 1 });
    const logout = await client.post(app, '/api/logout');
    const metrics = await client.get(app, '/metrics');
    await proxy.restore();
    const back = await untilStoreBack(client, app);
    reportFigures('read-only mode: a read while the store is cut off', { readMs, snapshotCookieBytes: snapshotHeader.length, snapshotValueBytes: client.cookies.get(SNAPSHOT)!.value.length }, 'integration-figures.jsonl');

    expect(snapshotHeader).toMatch(/HttpOnly/i);
    expect(snapshotHeader).not.toContain(encodeURIComponent(client.sessionId()));
    expect(read.status).toBe(200);
    expect(readMs).toBeLessThan(FAST_MS);
    const view = read.body as DegradedSessionView;
    expect(view).toMatchObject({ degraded: true, handle: before.handle, user: before.user, lifetime: 'standard', createdAt: before.createdAt, absoluteExpiresAt: before.absoluteExpiresAt, createdBy: 'degraded', servedBy: 'degraded' });
    expect(view.message).toMatch(/^read-only: the session store is down/);
    expect(Date.parse(view.snapshotExpiresAt) - Date.now()).toBeLessThanOrEqual(60_000);
    expect(view).not.toHaveProperty('csrfToken');
    for (const write of [visit, cart, logout]) {
      expect(write.status).toBe(503);
      expect(write.body.error).toBe('redis_unavailable');
    }
    expect(metrics.text).toMatch(/sc_session_degraded_reads_total\{outcome="served",instance="degraded"\} 1/);
    expect(back.status).toBe(200);
    expect(back.body).toMatchObject({ handle: before.handle, visits: 1, cart: { items: [{ productId: 'tea', quantity: 2 }] } });
    expect(back.body).not.toHaveProperty('degraded');
    expect((await redis.admin.getBuffer(key))!.equals(stored!)).toBe(true);
  });

  test('when a snapshot has expired, belongs to another session or was altered, then the read is the usual 503; in the default fail mode no snapshot is ever set', async () => {
    app = await readOnlyApp({ SESSION_SNAPSHOT_TTL_S: '2' });
    const [alice, bob, forger] = [new TestClient(), new TestClient(), new TestClient()];
    await alice.login(app);
    await bob.login(app, 'bob');
    const aliceSnapshot = alice.cookies.get(SNAPSHOT)!;
    // Bob's session cookie with Alice's snapshot: bound to her session's handle, it says nothing about his.
    bob.cookies.set(SNAPSHOT, aliceSnapshot);
    // Alice's cookies, her snapshot with one character of its payload changed: the signature no longer verifies.
    for (const [name, cookie] of alice.cookies) forger.cookies.set(name, cookie);
    const value = decodeURIComponent(aliceSnapshot.value);
    forger.cookies.set(SNAPSHOT, { ...aliceSnapshot, value: encodeURIComponent((value[0] === 'e' ? 'f' : 'e') + value.slice(1)) });

    await proxy.cut();
    const [fresh, foreign, forged] = [await alice.get(app, '/api/session'), await bob.get(app, '/api/session'), await forger.get(app, '/api/session')];
    await sleep(2100);
    const expired = await alice.get(app, '/api/session');
    await proxy.restore();

    const failApp = await startInstance({ REDIS_URL: redis.owned.url, INSTANCE_ID: 'fail-mode' });
    const plain = new TestClient();
    const failLogin = await plain.login(failApp);
    const failRead = await plain.get(failApp, '/api/session');
    await failApp.close();

    expect(fresh.status).toBe(200);
    expect(fresh.body.degraded).toBe(true);
    for (const refused of [foreign, forged, expired]) {
      expect(refused.status).toBe(503);
      expect(refused.body.error).toBe('redis_unavailable');
    }
    expect(snapshotSet(failLogin)).toBeUndefined();
    expect(snapshotSet(failRead)).toBeUndefined();
  });

  test('when a session was revoked from another device just before the store went down, then it can still be read from its snapshot while the store is down (the stated trade-off), and is refused as revoked once it is back', async () => {
    app = await readOnlyApp();
    const [laptop, phone] = [new TestClient('sc.sid', 'laptop'), new TestClient('sc.sid', 'phone')];
    await laptop.login(app);
    await phone.login(app);
    const laptopHandle = (await laptop.get(app, '/api/session')).body.handle as string;
    expect((await phone.delete(app, `/api/sessions/${laptopHandle}`)).status).toBe(204);

    await proxy.cut();
    const whileDown = await laptop.get(app, '/api/session');
    await proxy.restore();
    await untilStoreBack(phone, app);
    const afterwards = await laptop.get(app, '/api/session');

    expect(whileDown.status).toBe(200);
    expect(whileDown.body).toMatchObject({ degraded: true, handle: laptopHandle });
    expect(afterwards.status).toBe(401);
    expect(afterwards.body.error).toBe('session_revoked');
    expect(laptop.cookies.has(SNAPSHOT)).toBe(false); // the 401 cleared it with the session cookie
  });

  test('when a client keeps using its session, then the snapshot is issued again only once half its lifetime is spent, and logout clears it', async () => {
    app = await readOnlyApp({ SESSION_SNAPSHOT_TTL_S: '2' });
    const client = new TestClient();
    const login = await client.login(app);
    const soon = await client.get(app, '/api/session');
    await sleep(1100);
    const later = await client.get(app, '/api/session');
    const logout = await client.post(app, '/api/logout');

    expect(snapshotSet(login)).toBeDefined();
    expect(snapshotSet(soon)).toBeUndefined();
    expect(snapshotSet(later)).toBeDefined();
    expect(logout.status).toBe(204);
    expect(snapshotSet(logout)).toMatch(/Expires=Thu, 01 Jan 1970/);
    expect(client.cookies.has(SNAPSHOT)).toBe(false);
  });
});
