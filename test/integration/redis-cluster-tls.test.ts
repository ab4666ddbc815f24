import { TestClient } from '../helpers/client';
import { startInstance, type TestInstance } from '../helpers/instance';
import { startOwnedRedisCluster, type OwnedRedisCluster } from '../helpers/redis-cluster';

/*
 * The app on a Redis Cluster that speaks only TLS (clients, replication and the cluster bus; the plain port
 * closed), as the managed cluster-mode services do: REDIS_CLUSTER_TLS=true, and REDIS_TLS_CA_FILE for this
 * cluster's own CA where a managed service's certificate would chain to a public one.
 */
jest.setTimeout(90_000);

let cluster: OwnedRedisCluster;
const apps: TestInstance[] = [];

beforeAll(async () => {
  cluster = await startOwnedRedisCluster({ tls: true });
});
afterAll(async () => {
  await Promise.all(apps.map((app) => app.close()));
  await cluster?.destroy();
});

describe('the session store on a Redis Cluster over TLS', () => {
  test('when the app trusts the cluster\'s CA, then a user logs in, counts visits, lists and revokes a device and logs out', async () => {
    const app = await startInstance({ REDIS_CLUSTER_NODES: cluster.nodes, REDIS_CLUSTER_TLS: 'true', REDIS_TLS_CA_FILE: cluster.caFile!, INSTANCE_ID: 'on-tls-cluster' });
    apps.push(app);
    const [phone, laptop] = [new TestClient(), new TestClient()];
    await phone.login(app, 'alice');
    await laptop.login(app, 'alice');
    const visits = [await laptop.post(app, '/api/visits'), await laptop.post(app, '/api/visits')];
    const listing = await laptop.get(app, '/api/sessions');
    const other = (listing.body.sessions as { handle: string; current: boolean }[]).find((s) => !s.current)!;
    const revoked = await laptop.delete(app, `/api/sessions/${other.handle}`);
    const phoneAfter = await phone.get(app, '/api/session');
    const clusterView = await laptop.get(app, '/api/cluster');
    const logout = await laptop.post(app, '/api/logout');

    expect(visits.map((res) => res.body.visits)).toEqual([1, 2]);
    expect(listing.body.sessions).toHaveLength(2);
    expect(revoked.status).toBe(204);
    expect(phoneAfter.status).toBe(401);
    expect(clusterView.body.redisCluster.state).toBe('ok');
    expect(logout.status).toBe(204);
  });

  test('when the app does not trust the cluster\'s certificate, then it does not connect: a login answers 503 redis_unavailable, fast', async () => {
    // Node's public CAs only: the self-signed test CA is not among them, so the TLS handshake fails.
    const app = await startInstance({ REDIS_CLUSTER_NODES: cluster.nodes, REDIS_CLUSTER_TLS: 'true', INSTANCE_ID: 'untrusting' }, { waitForRedis: false });
    apps.push(app);
    const started = performance.now();
    const login = await new TestClient().post(app, '/api/login', { username: 'bob', password: 'builder-bob' });
    const ms = performance.now() - started;

    expect(login.status).toBe(503);
    expect(login.body.error).toBe('redis_unavailable');
    expect(ms).toBeLessThan(1500);
  });
});
