import net from 'node:net';
import Redis, { Cluster } from 'ioredis';
import { sessionKey } from '../../app/src/session/keys';
import { sleep } from '../../toolkit/time';
import { DEMO_USERS, TestClient } from '../helpers/client';
import { TEST_KEYS, startInstance, type TestInstance } from '../helpers/instance';
import { startOwnedRedisCluster, type OwnedRedisCluster } from '../helpers/redis-cluster';
import { clickUntilStopped } from '../helpers/clicks';
import { reportFigures } from '../helpers/stack';

/*
 * The app on a Redis Cluster of this file's own (six nodes: three primaries, three replicas), so the
 * counts below (MONITOR, INFO commandstats) see only what this file sends, and a primary can be killed.
 */
jest.setTimeout(90_000);

let cluster: OwnedRedisCluster;
let app: TestInstance;
let admin: Cluster;

beforeAll(async () => {
  cluster = await startOwnedRedisCluster();
  admin = new Cluster(cluster.ports.map((port) => ({ host: '127.0.0.1', port })));
  // No heartbeat: the counts below are the session path's; live-view.test.ts runs the heartbeat on a cluster.
  app = await startInstance({ REDIS_CLUSTER_NODES: cluster.nodes, INSTANCE_ID: 'on-cluster', SESSION_TOUCH_AFTER_S: '60' }, { heartbeat: false });
});
afterAll(async () => {
  await app?.close();
  admin?.disconnect();
  await cluster?.destroy();
});

/** A connection to each node as it is now (primaries and replicas). */
function eachNode(): Redis[] {
  return cluster.ports.map((port) => new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 0 }));
}

/**
 * MONITOR on one node over a plain socket: each line it prints, as its arguments. Not ioredis's monitor():
 * it counts a line as MONITOR's only once a promise after MONITOR's +OK has run, so lines that come in the
 * same read as the +OK (a busy node: the other test files share this cluster) land where a reply was due,
 * "Command queue state error", and that connection is never closed (CI runs 27 and 28).
 */
async function monitorNode(port: number, onCommand: (args: string[]) => void): Promise<net.Socket> {
  const socket = net.connect(port, '127.0.0.1');
  let buffered = '';
  let started = false;
  await new Promise<void>((resolve, reject) => {
    const fail = (err: Error) => {
      socket.destroy();
      reject(err);
    };
    socket.on('error', (err) => (started ? socket.destroy() : fail(err)));
    socket.on('data', (chunk) => {
      buffered += chunk.toString('utf8');
      const lines = buffered.split('\r\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        if (!started) {
          if (line !== '+OK') return fail(new Error(`MONITOR on ${port}: ${line}`));
          started = true;
          resolve();
        } else if (line.startsWith('+') && line.includes('"')) {
          // +<time> [<db> <client>] "arg" "arg"… (Redis escapes quotes and line breaks inside an argument)
          onCommand(line.slice(line.indexOf('"') + 1, -1).split('" "').map((arg) => arg.replace(/\\"/g, '"')));
        }
      }
    });
    socket.write('MONITOR\r\n');
  });
  return socket;
}

/** Every command the nodes ran while `act` ran, as MONITOR shows them (scripts' own calls included). */
async function monitored(act: () => Promise<void>): Promise<string[][]> {
  const seen: string[][] = [];
  const started = await Promise.allSettled(cluster.ports.map((port) => monitorNode(port, (args) => seen.push(args))));
  const monitors = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
  try {
    const failed = started.find((result) => result.status === 'rejected');
    if (failed) throw failed.reason;
    await act();
    await sleep(200); // MONITOR's last lines are still on their way
  } finally {
    for (const monitor of monitors) monitor.destroy();
  }
  return seen;
}

/** Every route of the contract, as a user on two devices goes through them (one-session policy aside). */
async function tourEveryRoute(): Promise<number[]> {
  const [phone, laptop] = [new TestClient(), new TestClient()];
  const statuses: number[] = [];
  const note = async (res: Promise<{ status: number }>) => statuses.push((await res).status);
  await note(phone.login(app, 'alice'));
  await note(laptop.login(app, 'alice'));
  await note(laptop.get(app, '/api/session'));
  await note(laptop.post(app, '/api/visits'));
  await note(laptop.post(app, '/api/cart/items', { productId: 'tea', quantity: 2 }));
  await note(laptop.get(app, '/api/cart'));
  await note(laptop.delete(app, '/api/cart/items/tea'));
  const listing = await laptop.get(app, '/api/sessions');
  statuses.push(listing.status);
  const phoneEntry = listing.body.sessions.find((entry: { current: boolean }) => !entry.current);
  await note(laptop.delete(app, `/api/sessions/${phoneEntry.handle}`));
  await note(phone.get(app, '/api/session')); // revoked: 401 from its marker
  await note(laptop.get(app, '/api/cluster'));
  await note(new TestClient().post(app, '/api/login', { username: 'bob', password: 'wrong' })); // the limiter counts it
  await note(laptop.post(app, '/api/logout'));
  return statuses;
}

describe('the session store on a Redis Cluster', () => {
  test('when every route runs, then no command the app sends, nor any a script runs, touches keys of two slots', async () => {
    let statuses: number[] = [];
    const commands = await monitored(async () => {
      statuses = await tourEveryRoute();
    });
    const keyed = [];
    for (const args of commands) {
      const [name, ...rest] = args;
      const keys = (await admin.call('COMMAND', 'GETKEYS', name!, ...rest).catch(() => [])) as string[];
      if (keys.length > 0) keyed.push({ command: name!.toLowerCase(), slots: new Set(await Promise.all(keys.map((key) => admin.call('CLUSTER', 'KEYSLOT', key)))) });
    }
    const crossSlot = keyed.filter(({ slots }) => slots.size > 1).map(({ command }) => command);
    reportFigures('redis cluster: every route', { statuses, commands: commands.length, withKeys: keyed.length, crossSlot }, 'integration-figures.jsonl');

    expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 200, 200, 204, 401, 200, 401, 204]);
    expect(keyed.map(({ command }) => command)).toEqual(expect.arrayContaining(['evalsha', 'del', 'zrem', 'mget', 'zrangebyscore', 'set', 'get']));
    expect(crossSlot).toEqual([]);
  });

  test("when a logged-in client reads its session 200 times, then the cluster runs 1.00 command per read (the session's GET)", async () => {
    const client = new TestClient();
    await client.login(app, 'carol');
    const nodes = eachNode();
    const calls = async () => {
      const stats = await Promise.all(nodes.map((node) => node.info('commandstats')));
      const counts = stats.flatMap((text) => [...text.matchAll(/^cmdstat_(\S+?):calls=(\d+)/gm)].map((m) => [m[1]!, Number(m[2])] as const));
      // Not the requests': the INFO that reads each node, ioredis's slot-map refreshes (CLUSTER …), and the
      // replication links' own traffic (a replica's REPLCONF ACK every second, the primary's PINGs).
      const housekeeping = (name: string) => ['info', 'replconf', 'psync', 'ping'].includes(name) || name.startsWith('cluster');
      return counts.filter(([name]) => !housekeeping(name)).reduce((sum, [, n]) => sum + n, 0);
    };

    const before = await calls();
    const statuses = [];
    for (let i = 0; i < 200; i++) statuses.push((await client.get(app, '/api/session')).status);
    const perRead = ((await calls()) - before) / 200;
    for (const node of nodes) node.disconnect();
    reportFigures('redis cluster: commands per read', { perRead }, 'integration-figures.jsonl');

    expect(statuses.every((status) => status === 200)).toBe(true);
    expect(perRead).toBe(1);
  });

  test('when 10,000 users each get their tag, then the three primaries hold within ±5 % of a third of them each', async () => {
    const slots = (await admin.call('CLUSTER', 'SLOTS')) as [number, number, [string, number]][];
    const primaryOf = (slot: number) => slots.find(([from, to]) => slot >= from && slot <= to)?.[2][1];
    const users = Array.from({ length: 10_000 }, (_, i) => `user-${i}`);
    const pipeline = admin.nodes('master')[0]!.pipeline();
    for (const user of users) pipeline.call('CLUSTER', 'KEYSLOT', TEST_KEYS.userIndexKey(user));
    const keySlots = ((await pipeline.exec()) ?? []).map(([, slot]) => Number(slot));
    const perPrimary = new Map<number, number>();
    for (const slot of keySlots) perPrimary.set(primaryOf(slot)!, (perPrimary.get(primaryOf(slot)!) ?? 0) + 1);
    const shares = [...perPrimary.values()].map((n) => n / users.length);
    reportFigures('redis cluster: 10,000 users over the primaries', { users: users.length, perPrimary: Object.fromEntries(perPrimary), shares }, 'integration-figures.jsonl');

    expect(shares).toHaveLength(3);
    for (const share of shares) expect(Math.abs(share - 1 / 3)).toBeLessThanOrEqual(0.05 / 3);
  });

  test("when the primary holding a user's slot is killed while they click, then its replica takes over, writes succeed again and no session is lost", async () => {
    const users = Object.keys(DEMO_USERS) as (keyof typeof DEMO_USERS)[];
    const clients = users.map(() => new TestClient());
    await Promise.all(clients.map((client, i) => client.login(app, users[i]!)));
    const primaryPort = await primaryPortOf(sessionKey(clients[0]!.sessionId()));
    const clicks = clickUntilStopped(clients, app);

    await sleep(1000);
    const killedAt = Date.now();
    try {
      await cluster.kill(primaryPort);
      // Until clicks have failed since the kill and then gone 2 s without failing (or 30 s have passed).
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline && (clicks.lastFailureAt() < killedAt || Date.now() - clicks.lastFailureAt() < 2000)) await sleep(100);
      const acknowledged = await clicks.stop();
      const after = await Promise.all(clients.map((client) => client.get(app, '/api/session')));
      const visitsAfter = after.map((res) => res.body.visits as number);
      reportFigures('redis cluster: primary killed under clicks', {
        killed: `127.0.0.1:${primaryPort}`, users: users.length, requests: clicks.requests(), failed: clicks.failed(),
        writableAgainAfterS: (clicks.lastFailureAt() - killedAt) / 1000,
        sessionsReadableAfter: after.filter((res) => res.status === 200).length,
        acknowledgedClicksLost: acknowledged.reduce((sum, n, i) => sum + Math.max(0, n - (visitsAfter[i] ?? 0)), 0),
      }, 'integration-figures.jsonl');

      expect(clicks.failed()).toBeGreaterThan(0); // the kill was felt: the victim's shard stopped answering for a while
      expect(after.map((res) => res.status)).toEqual(users.map(() => 200));
      expect(clicks.lastFailureAt() - killedAt).toBeLessThan(20_000);
    } finally {
      await clicks.stop();
      await cluster.revive(primaryPort);
    }
  });

  test('when every node of the cluster is down, then requests that need it answer 503 redis_unavailable within 1.5 s, liveness stays up, and the app recovers when the nodes are back', async () => {
    const client = new TestClient();
    await client.login(app, 'carol');
    const stranger = new TestClient();
    await Promise.all(cluster.ports.map((port) => cluster.kill(port)));
    try {
      const timed = async (what: string, send: () => Promise<{ status: number; body: { error?: string } }>) => {
        const started = performance.now();
        const res = await send();
        return { what, status: res.status, error: res.body?.error, ms: Math.round(performance.now() - started) };
      };
      const answers = [
        await timed('GET /api/session', () => client.get(app, '/api/session')),
        await timed('POST /api/visits', () => client.post(app, '/api/visits')),
        await timed('POST /api/login', () => stranger.post(app, '/api/login', { username: 'bob', password: 'builder-bob' })),
      ];
      const ready = await timed('GET /readyz', () => client.get(app, '/readyz'));
      const health = await client.get(app, '/healthz');
      reportFigures('redis cluster: every node down', Object.fromEntries(answers.map((a) => [a.what, `${a.status} ${a.error ?? ''} in ${a.ms} ms`])), 'integration-figures.jsonl');

      for (const answer of answers) expect(answer).toMatchObject({ status: 503, error: 'redis_unavailable', ms: expect.any(Number) });
      expect(Math.max(...answers.map((a) => a.ms))).toBeLessThan(1500);
      expect(ready.status).toBe(503);
      expect(health.status).toBe(200);
    } finally {
      await Promise.all(cluster.ports.map((port) => cluster.revive(port)));
    }
    // The nodes keep no data (throw-away storage): a new login shows the same app works again.
    const deadline = Date.now() + 15_000;
    let status = 0;
    while (Date.now() < deadline && status !== 200) {
      status = (await new TestClient().login(app, 'carol').catch(() => ({ status: 0 }))).status;
      if (status !== 200) await sleep(200);
    }
    expect(status).toBe(200);
  });
});

async function primaryPortOf(key: string): Promise<number> {
  const slot = Number(await admin.call('CLUSTER', 'KEYSLOT', key));
  const slots = (await admin.call('CLUSTER', 'SLOTS')) as [number, number, [string, number]][];
  return slots.find(([from, to]) => slot >= from && slot <= to)![2][1];
}
