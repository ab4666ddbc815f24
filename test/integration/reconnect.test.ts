import Redis from 'ioredis';
import { loadConfig } from '../../app/src/config';
import { sessionCookieOptions } from '../../app/src/session/cookie';
import { newSessionId, sessionKey } from '../../app/src/session/keys';
import { RedisSessionStore } from '../../app/src/session/redis-store';
import { sleep, waitFor } from '../../toolkit/time';
import { anEntry } from '../helpers/activity';
import { TestClient } from '../helpers/client';
import { TEST_KEYS, TEST_SECRET, startInstance, type TestInstance } from '../helpers/instance';
import { redisProxy } from '../helpers/redis-proxy';
import { startOwnedRedis, startOwnedSentinel, type OwnedRedis } from '../helpers/redis-server';
import { startTcpRelay, type Cut, type TcpRelay } from '../helpers/tcp-relay';

/*
 * A connection that drops while a write is in flight. ioredis re-sends, once it has reconnected, the commands it
 * had sent on the lost connection and not heard back about (autoResendUnfulfilledCommands); a Cluster client
 * sends again a command whose node connection closed. So a script that ran, but whose reply was lost, is sent
 * twice. Here the app reaches a Redis of this file's own through a TCP relay (test/helpers/tcp-relay.ts) that
 * cuts the app's connection right after Redis ran the write and before its reply got back; the app reconnects
 * through the relay. The write must take effect once, and the client get the answer of that one effect.
 */

// The point is what the re-sent copy does, not how fast it comes: on a loaded machine the reconnection and the
// copy can take longer than the default 800 ms, and the request would end in a 503 before the copy's answer.
const COMMAND_TIMEOUT_MS = '5000';
// Every mutation is a Lua script; once the script is cached, ioredis sends it as EVALSHA, which Redis runs at
// once. (A first EVALSHA answered NOSCRIPT ran nothing, so each test makes one write before the cut.)
const SCRIPT_CALL = /evalsha/i;

const owned: OwnedRedis[] = [];
let relay: TcpRelay | undefined;
let app: TestInstance | undefined;
let direct: Redis | undefined;

afterEach(async () => {
  await app?.close();
  direct?.disconnect();
  await relay?.close();
  await Promise.all(owned.splice(0).map((redis) => redis.destroy()));
  [app, direct, relay] = [undefined, undefined, undefined];
});

/** A Redis of this test's own, and the relay in front of it; `direct` reads it without the relay. */
async function redisBehindRelay(args: string[] = []): Promise<{ redis: OwnedRedis; relay: TcpRelay }> {
  const redis = await startOwnedRedis({ args });
  owned.push(redis);
  relay = await startTcpRelay(redis.port);
  direct = new Redis(redis.url);
  return { redis, relay };
}

async function storedSession(client: TestClient): Promise<{ visits: number; cart?: Record<string, number> }> {
  return JSON.parse((await direct!.get(sessionKey(client.sessionId())))!);
}

/** Logs in and makes one write (so the scripts are cached), then sends `write` with the relay set to cut it. */
async function cutWrite<T>(first: (client: TestClient) => Promise<unknown>, write: (client: TestClient) => Promise<T>) {
  const client = new TestClient();
  await client.login(app!);
  await first(client);
  const connectionsBefore = relay!.accepted();
  const cut = relay!.cutAfterReply(SCRIPT_CALL);
  const started = performance.now();
  const res = await write(client);
  const ms = Math.round(performance.now() - started);
  const { reply }: Cut = await cut;
  return { client, res, ms, lostReply: reply, reconnections: relay!.accepted() - connectionsBefore };
}

/**
 * The visit counter's case, the same in each store mode: `mode` names it in the figures. `mayFail`: the
 * client may instead be told 503 (its outcome unknown) — a Cluster client left with no node at all fails a
 * command at once rather than queue it without a bound (app/src/redis.ts) — but never a visit counted twice.
 */
async function visitCutOnce(mode: string, { mayFail = false } = {}): Promise<void> {
  const { client, res, ms, lostReply, reconnections } = await cutWrite(
    (c) => c.post(app!, '/api/visits'),
    (c) => c.post(app!, '/api/visits'),
  );
  const stored = await storedSession(client);
  // The next click, once the store answers again (at once, but for a Cluster client starting over).
  let next = await client.post(app!, '/api/visits');
  for (const deadline = Date.now() + 5000; next.status === 503 && Date.now() < deadline; ) {
    await sleep(100);
    next = await client.post(app!, '/api/visits');
  }
  const records = await direct!.keys('applied-write:*');
  const lives = await Promise.all(records.map((key) => direct!.pttl(key)));
  console.log(`${mode}: POST /api/visits cut after Redis ran it (its reply ${JSON.stringify(lostReply)} lost), ${reconnections} reconnection(s): the client saw ${res.status} ${JSON.stringify(res.body)} in ${ms} ms, Redis holds visits ${stored.visits}; the next POST answered ${JSON.stringify(next.body)}; ${records.length} applied-write records, ${Math.min(...lives)}-${Math.max(...lives)} ms to live`);

  expect(lostReply).toBe(':2\r\n'); // Redis had counted the visit when the connection went
  if (mayFail && res.status === 503) {
    expect(res.body.error).toBe('redis_unavailable');
  } else {
    expect(reconnections).toBeGreaterThanOrEqual(1);
    expect(res.status).toBe(200);
    expect(res.body.visits).toBe(2);
  }
  expect(stored.visits).toBe(2);
  expect(next.body.visits).toBe(3);
  // One record per write (the one before the cut, the cut one, the next), none for the re-sent copy; each expires.
  expect(records).toHaveLength(3);
  for (const life of lives) expect(life).toBeGreaterThan(50_000);
  for (const life of lives) expect(life).toBeLessThanOrEqual(60_000);
}

describe('a connection cut after a write ran, before its reply got back (redis store)', () => {
  test('when POST /api/visits loses its reply, then the client gets 200 with the next count and Redis counted the visit once', async () => {
    const { relay } = await redisBehindRelay();
    app = await startInstance({ REDIS_URL: `redis://127.0.0.1:${relay.port}`, REDIS_COMMAND_TIMEOUT_MS: COMMAND_TIMEOUT_MS, INSTANCE_ID: 'cut-visits' });

    await visitCutOnce('one Redis');
  });

  test('when POST /api/cart/items loses its reply, then the client gets 200 with the cart and the quantity was added once', async () => {
    const { relay } = await redisBehindRelay();
    app = await startInstance({ REDIS_URL: `redis://127.0.0.1:${relay.port}`, REDIS_COMMAND_TIMEOUT_MS: COMMAND_TIMEOUT_MS, INSTANCE_ID: 'cut-cart' });

    const { client, res, ms, lostReply, reconnections } = await cutWrite(
      (c) => c.post(app!, '/api/cart/items', { productId: 'tea', quantity: 1 }),
      (c) => c.post(app!, '/api/cart/items', { productId: 'tea', quantity: 2 }),
    );
    const stored = await storedSession(client);
    console.log(`one Redis: POST /api/cart/items (tea +2 on tea 1) cut after Redis ran it (its reply ${JSON.stringify(lostReply)} lost), ${reconnections} reconnection(s): the client saw ${res.status} ${JSON.stringify(res.body)} in ${ms} ms, Redis holds the cart ${JSON.stringify(stored.cart)}`);

    expect(lostReply).toContain('{"tea":3}');
    expect(reconnections).toBeGreaterThanOrEqual(1);
    expect(res.status).toBe(200);
    expect(res.body.items).toEqual([{ productId: 'tea', quantity: 3 }]);
    expect(stored.cart).toEqual({ tea: 3 });
  });
});

describe('a connection cut after a write ran, in Sentinel mode (redis store)', () => {
  test('when POST /api/visits loses its reply, then the client reconnects to the primary Sentinel names and the visit counts once', async () => {
    const { relay } = await redisBehindRelay();
    // The Sentinel names the relay as the primary, so the app's connections to the primary go through it.
    const sentinel = await startOwnedSentinel({ host: '127.0.0.1', port: relay.port });
    owned.push(sentinel);
    app = await startInstance({ REDIS_SENTINELS: `127.0.0.1:${sentinel.port}`, REDIS_MASTER_NAME: 'mymaster', REDIS_COMMAND_TIMEOUT_MS: COMMAND_TIMEOUT_MS, INSTANCE_ID: 'cut-sentinel' });

    await visitCutOnce('Sentinel');
  });
});

describe('a connection cut after a write ran, on a Redis Cluster (redis store)', () => {
  test('when POST /api/visits loses its reply, then the visit counts once, whether the Cluster client sends it again or answers 503', async () => {
    // One node holding every slot, announcing the relay's address: the client's slot map sends it through the relay.
    const { relay } = await redisBehindRelay(['--cluster-enabled', 'yes']);
    await direct!.config('SET', 'cluster-announce-ip', '127.0.0.1');
    await direct!.config('SET', 'cluster-announce-port', String(relay.port));
    await direct!.call('CLUSTER', 'ADDSLOTSRANGE', '0', '16383');
    await waitFor('cluster_state:ok', async () => /cluster_state:ok/.test(String(await direct!.call('CLUSTER', 'INFO'))), 10_000, 100);
    app = await startInstance({ REDIS_CLUSTER_NODES: `127.0.0.1:${relay.port}`, REDIS_COMMAND_TIMEOUT_MS: COMMAND_TIMEOUT_MS, INSTANCE_ID: 'cut-cluster' });

    await visitCutOnce('Redis Cluster', { mayFail: true });
  });
});

describe('a write asked for while the connection is down', () => {
  test('when a visit is asked for while the client reconnects, then it fails at once and is never sent, even when the connection comes back a moment later', async () => {
    const redis = await startOwnedRedis();
    owned.push(redis);
    const proxy = await redisProxy(redis.port);
    direct = new Redis(redis.url);
    // The app's client options, but a reconnection every 1.5 s: without the store's check, a write queued while
    // the connection is down would time out (the request's 503), wait on in the offline queue and go out on the
    // next reconnection, which comes before the queue's flush (every second failed attempt).
    const client = new Redis(proxy.url, { commandTimeout: 300, enableOfflineQueue: true, maxRetriesPerRequest: 1, retryStrategy: () => 1500 });
    client.on('error', () => undefined);
    try {
      await waitFor('the client ready', () => client.status === 'ready', 5000, 20);
      const store = new RedisSessionStore(client, sessionCookieOptions(loadConfig({ SESSION_SECRETS: TEST_SECRET })), TEST_KEYS);
      const sid = newSessionId(TEST_KEYS.userTag('u-alice'));
      await direct.set(sessionKey(sid), JSON.stringify({ user: 'u-alice', visits: 1, expires: Date.now() + 60_000 }), 'PX', 60_000);

      await proxy.cut();
      await waitFor('the client reconnecting', () => client.status === 'reconnecting', 5000, 10);
      const started = performance.now();
      const refused = await store.incrementVisits(sid, anEntry()).then(() => null, (err: Error) => err);
      const ms = performance.now() - started;
      await proxy.restore();
      await waitFor('the client ready again', () => client.status === 'ready', 10_000, 20);
      await sleep(500);

      expect(refused?.name).toBe('WriteNotSentError');
      expect(ms).toBeLessThan(100);
      expect(JSON.parse((await direct.get(sessionKey(sid)))!).visits).toBe(1);
      expect(await store.incrementVisits(sid, anEntry())).toBe(2); // the connection is back: writes go out again
    } finally {
      client.disconnect();
      await proxy.close();
    }
  });
});
