import { MASTER_NAME, replicationInfo, sentinelCommand } from '../../toolkit/sentinel';
import { APP_SERVICES, REDIS_NODES } from '../../toolkit/services';
import { replicaOrder, waitForSteadyStack } from '../../toolkit/steady';
import { sleep, waitFor } from '../../toolkit/time';
import { TestClient } from '../helpers/client';
import { reportFigures } from '../helpers/stack';
import { clusterCompose, clusterInfo } from './cluster';

/** Scenario 5: the three Redis nodes restart with their volumes: the AOF brings every session back. */
describe('scenario 5: restarting the Redis nodes', () => {
  const compose = clusterCompose();
  const target = { url: clusterInfo().httpUrl };

  test('when the Redis nodes are all stopped and started again, then 100 % of the sessions come back from the AOF', async () => {
    const users = Array.from({ length: 100 }, () => new TestClient());
    for (const [i, client] of users.entries()) {
      await client.login(target, (['alice', 'bob', 'carol'] as const)[i % 3]);
      await client.post(target, '/api/visits');
    }
    await sleep(1500); // appendfsync everysec: what is older than a second is on disk

    compose.run(['stop', ...REDIS_NODES]);
    const restartedAt = Date.now();
    compose.run(['start', ...REDIS_NODES]);
    await compose.waitHealthy([...REDIS_NODES, ...APP_SERVICES]);
    let back = await Promise.all(users.map((u) => u.get(target, '/api/session')));
    for (let i = 0; i < 20 && back.some((r) => r.status === 503); i++) {
      await sleep(1000);
      back = await Promise.all(users.map((u) => u.get(target, '/api/session')));
    }
    const servingAgainAfterS = (Date.now() - restartedAt) / 1000;

    const restored = back.filter((r) => r.status === 200 && r.body.visits === 1).length;
    reportFigures('restart redis pair (AOF)', { sessions: users.length, restored, servingAgainAfterS });
    expect(restored).toBe(users.length);
  }, 300_000);

  /** A container's address on its network (Redis is on `back` only). */
  const addressOf = (service: string) => compose.inspect(service, '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}');
  const lastOctet = (ip: string) => Number(ip.split('.').at(-1));

  test("when the two replicas restart on each other's addresses, then every Sentinel still knows each node as itself, and a failover promotes the right one", async () => {
    const { primary, replicas } = await waitForSteadyStack(clusterInfo());
    const before = Object.fromEntries(replicas.map((r) => [r, addressOf(r)]));
    // Docker gives a started container the lowest free address of its network: start the replica that had
    // the higher one first, and it takes the other's.
    const [low, high] = [...replicas].sort((a, b) => lastOctet(before[a]!) - lastOctet(before[b]!)) as [string, string];
    compose.run(['stop', ...replicas]);
    compose.start(high);
    await waitFor(`${high} running`, () => compose.health(high) !== 'exited', 30_000);
    compose.start(low);
    await compose.waitHealthy(replicas);
    const after = Object.fromEntries(replicas.map((r) => [r, addressOf(r)]));

    // Steady includes: each Sentinel's run id for each node is that node's own (toolkit/steady.ts). With
    // every node on one port, a Sentinel kept reaching the other replica under the old name here.
    const steady = await waitForSteadyStack(clusterInfo(), 90_000);
    const expected = replicaOrder(primary)[0]!;
    expect(sentinelCommand(compose, 'sentinel-1', 'failover', MASTER_NAME)).toBe('OK');
    const promoted = await waitFor('the Sentinels to name a new primary', () => {
      const named = compose.sentinelPrimary();
      return named !== primary ? named : undefined;
    }, 30_000, 200);
    // The node itself says it is the primary: the one Sentinel meant, not the one that took its address.
    const roleOfPromoted = await waitFor(`${promoted} to report role master`, () => (replicationInfo(compose, promoted).role === 'master' ? 'master' : undefined), 30_000, 200);

    reportFigures('replicas restarted on swapped addresses', { before, after, steadyAfterMs: steady.waitedMs, promoted, roleOfPromoted });
    expect(after[low]).toBe(before[high]);
    expect(after[high]).toBe(before[low]);
    expect(promoted).toBe(expected);
  }, 300_000);
});
