import Redis from 'ioredis';
import request, { type Response } from 'supertest';
import { ConfigError } from '../../app/src/config';
import { startServer } from '../../app/src/server';
import { sessionHandle } from '../../app/src/session/handle';
import { endedKey, sessionKey } from '../../app/src/session/keys';
import { sleep } from '../../toolkit/time';
import { createAppUser } from '../helpers/acl';
import { TestClient } from '../helpers/client';
import { TEST_KEYS, startInstance, type TestInstance } from '../helpers/instance';
import { startOwnedRedis, startOwnedReplica, type OwnedRedis, type OwnedReplica } from '../helpers/redis-server';
import { reportFigures } from '../helpers/stack';

/*
 * SESSION_WRITE_DURABILITY=replicated against a real primary and a real replica of this file's own, which the
 * tests freeze (SIGSTOP: the link stays, no acknowledgement comes, as in a partition) and cut off (REPLICAOF
 * NO ONE). Every test starts from an empty primary and a replica in sync, and leaves them so.
 */
jest.setTimeout(60_000);

const WAIT_MS = 200;
// The answer's bound beyond the wait itself: a busy two-core machine runs the suites beside this one.
const MARGIN_MS = 400;

let primary: OwnedRedis;
let replica: OwnedReplica;
let admin: Redis;
let fromReplica: Redis;
let apps: TestInstance[] = [];

beforeAll(async () => {
  primary = await startOwnedRedis();
  replica = await startOwnedReplica(primary);
  admin = new Redis(primary.url);
  fromReplica = new Redis(replica.url);
  // The primary's pings to its replica move its offset too (every 10 s by default): none during these tests.
  await admin.config('SET', 'repl-ping-replica-period', '3600');
});
afterAll(async () => {
  admin?.disconnect();
  fromReplica?.disconnect();
  await replica?.destroy();
  await primary?.destroy();
});
beforeEach(async () => {
  await admin.flushall();
  await replica.waitInSync();
});
afterEach(async () => {
  await Promise.all(apps.map((app) => app.close()));
  apps = [];
  await replica.thaw();
  await fromReplica.replicaof('127.0.0.1', primary.port);
  await replica.waitInSync();
});

async function instance(env: Record<string, string> = {}): Promise<TestInstance> {
  const app = await startInstance({ REDIS_URL: primary.url, INSTANCE_ID: 'durable', ...env });
  apps.push(app);
  return app;
}

const durableInstance = (env: Record<string, string> = {}) => instance({ SESSION_WRITE_DURABILITY: 'replicated', SESSION_WRITE_WAIT_MS: String(WAIT_MS), ...env });

async function timed<T>(send: () => Promise<T>): Promise<{ res: T; ms: number }> {
  const started = performance.now();
  const res = await send();
  return { res, ms: performance.now() - started };
}

/** A session blob as the replica holds it. */
async function onReplica(sid: string): Promise<Record<string, unknown> | null> {
  const raw = await fromReplica.get(sessionKey(sid));
  return raw === null ? null : (JSON.parse(raw) as Record<string, unknown>);
}

/** The primary's replication offset, and the replica's as the primary last heard it. */
async function offsets(): Promise<{ primary: number; acknowledged: number }> {
  const info = await admin.info('replication');
  return { primary: Number(/^master_repl_offset:(\d+)/m.exec(info)?.[1]), acknowledged: Number(/^slave0:.*,offset=(\d+)/m.exec(info)?.[1]) };
}

/**
 * Whether, by the time `send` is answered, the replica has told the primary it holds what the primary had
 * before plus more: the request's write. A replica reports its offset once a second, or at once when a WAIT
 * asks (REPLCONF GETACK, itself a few bytes of the stream, so the offset after the answer is never reached).
 */
async function acknowledgedOnAnswer(send: () => Promise<Response>): Promise<{ res: Response; acknowledged: boolean }> {
  const before = await offsets();
  const res = await send();
  return { res, acknowledged: (await offsets()).acknowledged > before.primary };
}

/** How many WAITs the primary has run. */
async function waitsRun(): Promise<number> {
  return Number(/^cmdstat_wait:calls=(\d+)/m.exec(await admin.info('commandstats'))?.[1] ?? 0);
}

function notReplicatedCount(metrics: string, operation: string): number {
  return Number(new RegExp(`^sc_session_writes_not_replicated_total\\{[^}]*operation="${operation}"[^}]*\\} (\\d+)$`, 'm').exec(metrics)?.[1] ?? 0);
}

describe('durable session writes (SESSION_WRITE_DURABILITY=replicated, redis store, one replica)', () => {
  test('when each kind of session write is answered, then the replica already has it: login, visit, cart, idle extension, eviction, revocation, logout', async () => {
    const app = await durableInstance({ SESSION_TOUCH_AFTER_S: '0', SESSION_POLICY: 'max:2' });
    const [phone, laptop, tablet] = [new TestClient(), new TestClient(), new TestClient()];
    const index = TEST_KEYS.userIndexKey('u-alice');
    const acknowledged: boolean[] = [];
    const checked = async (send: () => Promise<Response>) => {
      const answer = await acknowledgedOnAnswer(send);
      acknowledged.push(answer.acknowledged);
      return answer.res;
    };

    await checked(() => phone.login(app, 'alice'));
    const phoneSid = phone.sessionId();
    const afterLogin = { blob: await onReplica(phoneSid), indexed: await fromReplica.zscore(index, phoneSid) };
    const visit = await checked(() => phone.post(app, '/api/visits'));
    const afterVisit = await onReplica(phoneSid);
    const add = await checked(() => phone.post(app, '/api/cart/items', { productId: 'tea', quantity: 2 }));
    const afterAdd = await onReplica(phoneSid);
    const remove = await checked(() => phone.delete(app, '/api/cart/items/tea'));
    const afterRemove = await onReplica(phoneSid);
    await sleep(1100); // the extension moves the expiry to a later second
    const read = await checked(() => phone.get(app, '/api/session'));
    const afterRead = { blob: await onReplica(phoneSid), expiresAt: await fromReplica.pexpiretime(sessionKey(phoneSid)) };

    await checked(() => laptop.login(app, 'alice'));
    await checked(() => tablet.login(app, 'alice')); // max:2 evicts the phone's session, the oldest
    const afterEviction = { blob: await onReplica(phoneSid), marker: await fromReplica.get(endedKey(phoneSid)) };
    const tabletSid = tablet.sessionId();
    const revoke = await checked(() => laptop.delete(app, `/api/sessions/${sessionHandle(tabletSid)}`));
    const afterRevoke = { blob: await onReplica(tabletSid), marker: await fromReplica.get(endedKey(tabletSid)) };
    const laptopSid = laptop.sessionId();
    const logout = await checked(() => laptop.post(app, '/api/logout'));
    const afterLogout = { blob: await onReplica(laptopSid), marker: await fromReplica.get(endedKey(laptopSid)) };

    expect(afterLogin.blob).toMatchObject({ user: 'u-alice', visits: 0 });
    expect(afterLogin.indexed).not.toBeNull();
    expect([visit.status, afterVisit?.visits]).toEqual([200, 1]);
    expect([add.status, afterAdd?.cart]).toEqual([200, { tea: 2 }]);
    expect([remove.status, afterRemove?.cart]).toEqual([200, {}]);
    expect(read.status).toBe(200);
    expect(afterRead.blob?.seen).toBe(Date.parse(read.body.lastSeenAt));
    expect(afterRead.expiresAt).toBe(Date.parse(read.body.idleExpiresAt));
    expect(afterRead.expiresAt).toBeGreaterThan(Number(afterLogin.blob?.expires));
    expect(afterEviction).toEqual({ blob: null, marker: 'revoked' });
    expect([revoke.status, afterRevoke]).toEqual([204, { blob: null, marker: 'revoked' }]);
    expect([logout.status, afterLogout]).toEqual([204, { blob: null, marker: 'logged_out' }]);
    expect(acknowledged).toEqual(Array(9).fill(true));
  });

  test('when Redis has forgotten the scripts (SCRIPT FLUSH), then a scripted write is sent again with its body and still answered only once the replica has it', async () => {
    const app = await durableInstance();
    const client = new TestClient();
    await client.login(app, 'carol');
    await client.post(app, '/api/visits'); // the script is cached now, and sent by its digest from here on

    await admin.script('FLUSH');
    const { res, acknowledged } = await acknowledgedOnAnswer(() => client.post(app, '/api/visits'));
    const blob = await onReplica(client.sessionId());

    expect([res.status, res.body.visits]).toEqual([200, 2]);
    expect(acknowledged).toBe(true);
    expect(blob?.visits).toBe(2);
  });

  test('when the replica is frozen while a visit is written, then the 200 comes only once it is thawed and has acknowledged the visit', async () => {
    const app = await durableInstance({ SESSION_WRITE_WAIT_MS: '1000', REDIS_COMMAND_TIMEOUT_MS: '2000' });
    const client = new TestClient();
    await client.login(app, 'bob');

    await replica.freeze();
    const started = performance.now();
    const visit = client.post(app, '/api/visits').then((res) => ({ res, ms: performance.now() - started }));
    await sleep(300);
    await replica.thaw();
    const { res, ms } = await visit;
    const blob = await onReplica(client.sessionId());

    expect(res.status).toBe(200);
    expect(ms).toBeGreaterThanOrEqual(300);
    expect(blob?.visits).toBe(1);
  });

  test('when the replica stays frozen, then writes answer 503 write_not_replicated with Retry-After within the wait, reads stay fast, and the counter says which writes', async () => {
    const app = await durableInstance();
    const client = new TestClient();
    await client.login(app, 'carol');

    await replica.freeze();
    const visit = await timed(() => client.post(app, '/api/visits'));
    const read = await timed(() => client.get(app, '/api/session'));
    const parallel = await timed(() => Promise.all(Array.from({ length: 5 }, () => client.post(app, '/api/visits'))));
    const answers = parallel.res;
    const [health, ready, metrics] = await Promise.all([request(app.url).get('/healthz'), request(app.url).get('/readyz'), request(app.url).get('/metrics')]);
    await replica.thaw();
    await replica.waitInSync();
    const recovered = await client.post(app, '/api/visits');
    const figures = { visitMs: Math.round(visit.ms), readMs: Math.round(read.ms), fiveParallelMs: Math.round(parallel.ms), codes: answers.map((r) => r.body.error) };
    reportFigures('durable writes: replica frozen', figures, 'integration-figures.jsonl');

    expect(visit.res.status).toBe(503);
    expect(visit.res.body).toEqual({
      error: 'write_not_replicated',
      message: expect.stringContaining('outcome is unknown'),
      details: { acknowledged: 0, required: 1, waitMs: WAIT_MS },
    });
    expect(visit.res.headers['retry-after']).toBe('1');
    expect(visit.ms).toBeGreaterThanOrEqual(WAIT_MS - 5);
    expect(visit.ms).toBeLessThan(WAIT_MS + MARGIN_MS);
    expect(read.res.status).toBe(200); // no extension due: a read sends nothing to the writes' connection
    expect(read.ms).toBeLessThan(WAIT_MS);
    // One connection carries the writes, each WAIT after the last: those queued past REDIS_COMMAND_TIMEOUT_MS time out.
    expect(answers.map((r) => r.status)).toEqual([503, 503, 503, 503, 503]);
    for (const r of answers) expect(['write_not_replicated', 'redis_unavailable']).toContain(r.body.error);
    expect(parallel.ms).toBeLessThan(800 + MARGIN_MS);
    expect([health.status, ready.status]).toEqual([200, 200]);
    expect(notReplicatedCount(metrics.text, 'incrementVisits')).toBe(answers.filter((r) => r.body.error === 'write_not_replicated').length + 1);
    // Not replicated is not undone: the primary applied all six, so a retried visit counts twice.
    expect([recovered.status, recovered.body.visits]).toEqual([200, 7]);
  });

  test('when the replica stops replicating (REPLICAOF NO ONE), then logout and login answer 503 write_not_replicated, and a retried logout finds the session ended', async () => {
    const app = await durableInstance();
    const client = new TestClient();
    await client.login(app, 'alice');

    await fromReplica.replicaof('NO', 'ONE');
    const logout = await timed(() => client.post(app, '/api/logout'));
    const login = await timed(() => new TestClient().post(app, '/api/login', { username: 'bob', password: 'builder-bob' }));
    await fromReplica.replicaof('127.0.0.1', primary.port);
    await replica.waitInSync();
    const retried = await client.post(app, '/api/logout');

    for (const { res, ms } of [logout, login]) {
      expect([res.status, res.body.error, res.headers['retry-after']]).toEqual([503, 'write_not_replicated', '1']);
      expect(ms).toBeLessThan(WAIT_MS + MARGIN_MS);
    }
    expect(login.res.headers['set-cookie']).toBeUndefined();
    expect([retried.status, retried.body.error]).toEqual([401, 'no_session']);
  });

  test('when the app runs as the ACL user of redis/session-app.acl, then its replicated writes may WAIT and Redis refuses nothing', async () => {
    const [username, password] = ['session-app-durable', 'durable-test-password'];
    await createAppUser(admin, username, password);
    await admin.acl('LOG', 'RESET');
    const app = await durableInstance({ REDIS_USERNAME: username, REDIS_PASSWORD: password });
    const client = new TestClient();

    await client.login(app, 'alice');
    const statuses = [(await client.post(app, '/api/visits')).status, (await client.post(app, '/api/logout')).status];
    const refused = ((await admin.acl('LOG')) as unknown[][]).map((entry) => entry.map(String).join(' '));
    await admin.acl('DELUSER', username);

    expect(statuses).toEqual([200, 204]);
    expect(refused).toEqual([]);
  });

  test('when writes are async (the default), then a frozen replica changes nothing and no WAIT is sent', async () => {
    const app = await instance();
    const client = new TestClient();
    await client.login(app, 'bob');
    const before = await waitsRun();

    await replica.freeze();
    const visit = await timed(() => client.post(app, '/api/visits'));
    const logout = await timed(() => client.post(app, '/api/logout'));
    await replica.thaw();
    const after = await waitsRun();

    expect([visit.res.status, visit.res.body.visits, logout.res.status]).toEqual([200, 1, 204]);
    expect(visit.ms).toBeLessThan(WAIT_MS);
    expect(after - before).toBe(0);
  });

  test('when replicated writes are asked of a store that cannot have replicas, or with a wait the command timeout would cut, then the server refuses to start', async () => {
    const memory = startServer({ PORT: '0', LOG_LEVEL: 'silent', SESSION_STORE: 'memory', SESSION_WRITE_DURABILITY: 'replicated' });
    const tooLong = startServer({ PORT: '0', LOG_LEVEL: 'silent', REDIS_URL: primary.url, SESSION_WRITE_DURABILITY: 'replicated', SESSION_WRITE_WAIT_MS: '900' });

    await expect(memory).rejects.toThrow(ConfigError);
    await expect(memory).rejects.toThrow(/SESSION_WRITE_DURABILITY: replicated needs SESSION_STORE=redis/);
    await expect(tooLong).rejects.toThrow(/SESSION_WRITE_WAIT_MS: must be shorter than REDIS_COMMAND_TIMEOUT_MS/);
  });
});

/** Milliseconds of each request, `count` rounds, one request of each sender per round (so the modes share the machine's ups and downs). */
async function interleaved(count: number, senders: Record<string, () => Promise<Response>>): Promise<Record<string, number[]>> {
  const ms: Record<string, number[]> = Object.fromEntries(Object.keys(senders).map((name) => [name, []]));
  for (let i = 0; i < count; i++) {
    for (const [name, send] of Object.entries(senders)) {
      const { res, ms: took } = await timed(send);
      if (res.status !== 200) throw new Error(`${name} answered ${res.status} ${JSON.stringify(res.body)}`);
      ms[name]!.push(took);
    }
  }
  return ms;
}

/** Wall time of `count` requests per sender, sent `concurrency` at a time, the senders' bursts in turn. */
async function inBursts(count: number, concurrency: number, senders: Record<string, () => Promise<Response>>): Promise<Record<string, number>> {
  const ms: Record<string, number> = Object.fromEntries(Object.keys(senders).map((name) => [name, 0]));
  for (let sent = 0; sent < count; sent += concurrency) {
    for (const [name, send] of Object.entries(senders)) {
      const burst = await timed(() => Promise.all(Array.from({ length: concurrency }, send)));
      if (burst.res.some((r) => r.status !== 200)) throw new Error(`${name}: not all answered 200`);
      ms[name]! += burst.ms;
    }
  }
  return ms;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! * 100) / 100;
}

type Send = () => Promise<Response>;

/** Per mode: a client on an instance that extends lazily (the default), one on an instance that extends on every request. */
async function costSetup(env: Record<string, string>): Promise<{ visit: Send; read: Send; extendingRead: Send; storeMs: () => Promise<Record<string, number>> }> {
  const [lazy, eager] = [await instance(env), await instance({ ...env, SESSION_TOUCH_AFTER_S: '0' })];
  const [client, extended] = [new TestClient(), new TestClient()];
  await client.login(lazy, 'alice');
  await extended.login(eager, 'bob');
  return {
    visit: () => client.post(lazy, '/api/visits'),
    read: () => client.get(lazy, '/api/session'),
    extendingRead: () => extended.get(eager, '/api/session'),
    storeMs: async () => ({ incrementVisits: await meanStoreMs(lazy, 'incrementVisits'), extend: await meanStoreMs(eager, 'extend') }),
  };
}

/** The mean time of one store operation on an instance, from its sc_store_command_duration_seconds histogram, in ms. */
async function meanStoreMs(app: TestInstance, operation: string): Promise<number> {
  const text = (await request(app.url).get('/metrics')).text;
  const value = (series: string) => Number(new RegExp(`^sc_store_command_duration_seconds_${series}\\{[^}]*operation="${operation}"[^}]*\\} (\\S+)$`, 'm').exec(text)?.[1]);
  return Math.round((value('sum') / value('count')) * 100_000) / 100;
}

describe('what durable writes cost (one run, this machine: a replica on loopback)', () => {
  test('when visits, reads and extending reads go through each mode, then replicated sends one WAIT per write and none per plain read, and the figures are reported', async () => {
    const N = 200;
    const modes = { async: await costSetup({}), replicated: await costSetup({ SESSION_WRITE_DURABILITY: 'replicated', SESSION_WRITE_WAIT_MS: String(WAIT_MS) }) };
    const figures: Record<string, number> = {};
    const waits: Record<string, number> = {};
    for (const kind of ['visit', 'read', 'extendingRead'] as const) {
      const before = await waitsRun();
      const ms = await interleaved(N, { async: modes.async[kind], replicated: modes.replicated[kind] });
      waits[kind] = (await waitsRun()) - before;
      for (const mode of ['async', 'replicated'] as const) {
        Object.assign(figures, { [`${mode}.${kind}.p50`]: percentile(ms[mode]!, 50), [`${mode}.${kind}.p95`]: percentile(ms[mode]!, 95) });
      }
    }
    const bursts = await inBursts(N, 20, { async: modes.async.visit, replicated: modes.replicated.visit });
    for (const mode of ['async', 'replicated'] as const) {
      figures[`${mode}.visitsPerSecond20Parallel`] = Math.round((N / bursts[mode]!) * 1000);
      for (const [operation, ms] of Object.entries(await modes[mode].storeMs())) figures[`${mode}.store.${operation}.mean`] = ms;
    }
    reportFigures('durable writes: cost per request (ms)', { requests: N, ...figures, waits }, 'integration-figures.jsonl');

    // SESSION_TOUCH_AFTER_S=0 makes every read extend the session: a write, so a WAIT.
    expect(waits).toEqual({ visit: N, read: 0, extendingRead: N });
  });
});
