import { STICKY_SERVICES } from '../../toolkit/services';
import { TestClient } from '../helpers/client';
import { reportFigures } from '../helpers/stack';
import { clusterCompose, clusterInfo } from './cluster';

/** Scenario 3: the comparison. Sessions in each app's memory die with the app. */
describe('scenario 3: the sticky variant loses the sessions of a killed instance', () => {
  const compose = clusterCompose();
  const target = { url: clusterInfo().stickyUrl };

  afterEach(async () => {
    compose.run(['start', ...STICKY_SERVICES]);
    await compose.waitHealthy(STICKY_SERVICES);
  });

  /** Logs in fresh users until one is pinned to each sticky instance; returns instance → client. */
  async function onePerInstance(): Promise<Map<string, TestClient>> {
    const pinned = new Map<string, TestClient>();
    for (let i = 0; i < 60 && pinned.size < 3; i++) {
      const client = new TestClient();
      const res = await client.login(target, 'alice');
      const instance = res.headers['x-served-by'] as string;
      if (!pinned.has(instance)) pinned.set(instance, client);
    }
    return pinned;
  }

  test('when a user is pinned, then every request of theirs goes to the same instance', async () => {
    const client = new TestClient();
    const first = await client.login(target, 'bob');

    const servedBy = new Set<string>([String(first.headers['x-served-by'])]);
    for (let i = 0; i < 15; i++) servedBy.add(String((await client.post(target, '/api/visits')).headers['x-served-by']));

    expect(servedBy.size).toBe(1);
    expect(STICKY_SERVICES).toContain([...servedBy][0]);
  });

  test('when sticky-2 is killed, then its user lands elsewhere without a session, and users pinned elsewhere keep theirs', async () => {
    const pinned = await onePerInstance();
    expect([...pinned.keys()].sort()).toEqual(STICKY_SERVICES);
    for (const client of pinned.values()) expect((await client.post(target, '/api/visits')).body.visits).toBe(1);

    compose.kill('sticky-2');
    // The victim's next request: answered by another instance, which has never heard of the session. nginx
    // can answer its own 502 to a request caught while it swaps in the re-resolved group (docs/operations.md,
    // "What a client sees when an app is killed"); the user's retry then lands elsewhere. At most one allowed.
    const victimClient = pinned.get('sticky-2')!;
    const nginx502s: number[] = [];
    let victim = await victimClient.get(target, '/api/session');
    while (victim.status === 502 && nginx502s.length < 2) {
      nginx502s.push(victim.status);
      victim = await victimClient.get(target, '/api/session');
    }
    const survivors = await Promise.all(['sticky-1', 'sticky-3'].map((id) => pinned.get(id)!.post(target, '/api/visits')));

    reportFigures('kill sticky-2', {
      nginx502sBeforeAnswer: nginx502s.length,
      victimStatus: victim.status,
      victimError: victim.body.error,
      victimNowServedBy: victim.headers['x-served-by'],
      survivorsVisits: survivors.map((r) => r.body.visits),
    });
    expect(nginx502s.length).toBeLessThanOrEqual(1);
    expect(victim.status).toBe(401);
    expect(victim.body.error).toBe('session_expired');
    expect(victim.headers['x-served-by']).not.toBe('sticky-2');
    expect(survivors.map((r) => r.status)).toEqual([200, 200]);
    expect(survivors.map((r) => r.body.visits)).toEqual([2, 2]);
  }, 120_000);
});
