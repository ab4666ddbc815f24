import Redis, { Cluster } from 'ioredis';
import { sessionKey } from '../../app/src/session/keys';
import { waitFor } from '../../toolkit/time';
import { TestClient, type DemoUser } from '../helpers/client';
import { TEST_KEYS, startInstance, type TestInstance } from '../helpers/instance';
import { startOwnedRedisCluster, type OwnedRedisCluster } from '../helpers/redis-cluster';
import { replicaInSync } from '../helpers/redis-server';

/*
 * SESSION_WRITE_DURABILITY=replicated on a Redis Cluster of this file's own (three primaries, one replica
 * each), whose replicas it freezes. WAIT has no key: it must reach the primary holding the session's slot,
 * on the connection that carried the write, and count that primary's replica only.
 */
jest.setTimeout(90_000);

const WAIT_MS = 200;
const MARGIN_MS = 400;

let cluster: OwnedRedisCluster;
let admin: Cluster;
let app: TestInstance;

beforeAll(async () => {
  cluster = await startOwnedRedisCluster();
  admin = new Cluster(cluster.ports.map((port) => ({ host: '127.0.0.1', port })));
  app = await startInstance({ REDIS_CLUSTER_NODES: cluster.nodes, INSTANCE_ID: 'durable-cluster', SESSION_WRITE_DURABILITY: 'replicated', SESSION_WRITE_WAIT_MS: String(WAIT_MS) });
});
afterAll(async () => {
  await app?.close();
  admin?.disconnect();
  await cluster?.destroy();
});

interface Shard {
  slots: [number, number][];
  primary: number;
  replica: number;
}

/** The shards as CLUSTER SHARDS lists them: slot ranges, the primary's port, the replica's. */
async function shards(): Promise<Shard[]> {
  const reply = (await admin.call('CLUSTER', 'SHARDS')) as unknown[][];
  const field = (list: unknown[], name: string) => list[list.indexOf(name) + 1];
  return reply.map((shard) => {
    const slots = field(shard, 'slots') as number[];
    const nodes = field(shard, 'nodes') as unknown[][];
    const port = (role: string) => Number(field(nodes.find((node) => field(node, 'role') === role)!, 'port'));
    const ranges: [number, number][] = [];
    for (let i = 0; i + 1 < slots.length; i += 2) ranges.push([Number(slots[i]), Number(slots[i + 1])]);
    return { slots: ranges, primary: port('master'), replica: port('replica') };
  });
}

/** The shard holding a user's keys (their index and every session of theirs share its slot). */
async function shardOf(user: DemoUser): Promise<Shard> {
  const slot = Number(await admin.call('CLUSTER', 'KEYSLOT', TEST_KEYS.userIndexKey(`u-${user}`)));
  return (await shards()).find((shard) => shard.slots.some(([from, to]) => slot >= from && slot <= to))!;
}

/** A session blob as a replica node holds it (READONLY: a cluster replica serves reads of its own slots). */
async function onReplicaNode(port: number, sid: string): Promise<Record<string, unknown> | null> {
  const node = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 0 });
  try {
    await node.call('READONLY');
    const raw = await node.get(sessionKey(sid));
    return raw === null ? null : (JSON.parse(raw) as Record<string, unknown>);
  } finally {
    node.disconnect();
  }
}

/** Two demo users whose keys live in different shards. */
async function usersInTwoShards(): Promise<[DemoUser, DemoUser]> {
  const users: DemoUser[] = ['alice', 'bob', 'carol'];
  const primaries = await Promise.all(users.map(async (user) => (await shardOf(user)).primary));
  const other = users.findIndex((_, i) => primaries[i] !== primaries[0]);
  if (other < 0) throw new Error('the three demo users share one shard: this test needs two shards');
  return [users[0]!, users[other]!];
}

describe('durable session writes on a Redis Cluster (SESSION_WRITE_DURABILITY=replicated)', () => {
  test("when a session is written, then the replica of the session's own shard has it by the time of the answer", async () => {
    const client = new TestClient();
    await client.login(app, 'carol');
    const { replica } = await shardOf('carol');

    const visit = await client.post(app, '/api/visits');
    const blob = await onReplicaNode(replica, client.sessionId());

    expect(visit.status).toBe(200);
    expect(blob?.visits).toBe(1);
  });

  test("when the replica of one session's shard is frozen, then that session's writes answer 503 write_not_replicated while a session in another shard writes on", async () => {
    const [stalled, other] = await usersInTwoShards();
    const [stalledClient, otherClient] = [new TestClient(), new TestClient()];
    await stalledClient.login(app, stalled);
    await otherClient.login(app, other);
    const shard = await shardOf(stalled);

    await cluster.freeze(shard.replica);
    let stalledVisit;
    let otherVisit;
    let ms: number;
    try {
      const started = performance.now();
      stalledVisit = await stalledClient.post(app, '/api/visits');
      ms = performance.now() - started;
      otherVisit = await otherClient.post(app, '/api/visits');
    } finally {
      await cluster.thaw(shard.replica);
    }
    await waitFor('the thawed replica in sync', () => replicaInSync(`redis://127.0.0.1:${shard.primary}`, shard.replica), 10_000, 50);
    const recovered = await stalledClient.post(app, '/api/visits');

    expect([stalledVisit.status, stalledVisit.body.error, stalledVisit.headers['retry-after']]).toEqual([503, 'write_not_replicated', '1']);
    expect(ms).toBeLessThan(WAIT_MS + MARGIN_MS);
    expect([otherVisit.status, otherVisit.body.visits]).toEqual([200, 1]);
    expect([recovered.status, recovered.body.visits]).toEqual([200, 2]); // the 503's visit was applied on the primary
  });
});
