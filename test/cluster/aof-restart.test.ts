import { APP_SERVICES, REDIS_NODES } from '../../toolkit/services';
import { sleep } from '../../toolkit/time';
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
});
