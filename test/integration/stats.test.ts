import request from 'supertest';
import { sleep } from '../../toolkit/time';
import { TestClient } from '../helpers/client';
import { instancePairs, instancesForFile, storeModes, type TestInstance } from '../helpers/instance';

/*
 * GET /api/stats and its gauges: kept by the writes themselves, correct across instances, and still correct
 * when sessions simply expire in the store. Each test's instances get a tag secret of their own, and with it
 * statistics keys of their own: the figures are that test's sessions alone.
 */
jest.setTimeout(30_000);

const instance = instancesForFile();

describe.each(storeModes())('session statistics ($mode store)', (mode) => {
  const { shared } = mode;
  const instances = instancePairs(instance, 'stats', mode);
  const stats = async (on: TestInstance) => (await request(on.url).get('/api/stats')).body;

  test('when users log in on two instances and sessions end by logout, revocation and policy, then every instance answers the same figures', async () => {
    const [a, b] = await instances();
    const clients = [new TestClient(), new TestClient(), new TestClient(), new TestClient()];
    await clients[0]!.login(a, 'alice');
    await clients[1]!.login(a, 'alice');
    await clients[2]!.login(b, 'bob');
    await clients[3]!.login(b, 'carol');
    const atStart = await stats(b);

    await clients[3]!.post(b, '/api/logout');
    const aliceSecond = (await clients[1]!.get(a, '/api/session')).body.handle as string;
    await clients[0]!.delete(b, `/api/sessions/${aliceSecond}`);
    const fromA = await stats(a);
    const fromB = await stats(b);

    expect(atStart).toMatchObject({ shared, activeSessions: 4, activeUsers: 3, loginsLastMinute: 4 });
    expect(atStart.createdByInstance).toEqual(shared ? { 'stats-a': 2, 'stats-b': 2 } : { 'stats-a': 4 });
    expect(fromA).toMatchObject({ activeSessions: 2, activeUsers: 2, endedByReason: { logout: 1, revoked: 1, policy: 0, idle_expiry: 0, absolute_expiry: 0 } });
    expect(fromA.endedLastHour.sessions).toBe(2);
    expect(fromA.endedLastHour.averageDurationS).toBeGreaterThanOrEqual(0);
    expect(fromA.endedLastHour.p95DurationS).toBeGreaterThanOrEqual(fromA.endedLastHour.averageDurationS);
    expect({ ...fromB, servedBy: 'x' }).toEqual({ ...fromA, servedBy: 'x' });
    expect(fromB.servedBy).toBe(shared ? 'stats-b' : 'stats-a');

    const [single] = await instances({ SESSION_POLICY: 'single' });
    await new TestClient().login(single, 'alice');
    await new TestClient().login(single, 'alice');
    expect(await stats(single)).toMatchObject({ activeSessions: 1, activeUsers: 1, endedByReason: { policy: 1 } });
  });

  test('when sessions simply expire in the store, idle or at their absolute lifetime, then the figures count them as ended with their reason and lifetime', async () => {
    const [a, b] = await instances({ SESSION_IDLE_TIMEOUT_S: '1', SESSION_ABSOLUTE_TIMEOUT_S: '2', SESSION_TOUCH_AFTER_S: '0' });
    const [idle, kept] = [new TestClient(), new TestClient()];
    await idle.login(a, 'alice');
    await kept.login(b, 'bob');
    for (let i = 0; i < 3; i++) {
      await sleep(600);
      await kept.get(a, '/api/session'); // extends it, until its absolute lifetime
    }
    await sleep(1300); // whole-second expiries: the absolute one is at most 3 s after the login

    const after = await stats(b);

    expect(after).toMatchObject({ activeSessions: 0, activeUsers: 0, endedByReason: { idle_expiry: 1, absolute_expiry: 1, logout: 0 } });
    expect(after.endedLastHour.sessions).toBe(2);
    expect(after.endedLastHour.p95DurationS).toBeGreaterThan(1.5); // the extended one lived to its absolute end
    expect(after.endedLastHour.p95DurationS).toBeLessThanOrEqual(3);
  });

  test('when Prometheus scrapes /metrics, then the same figures are there as gauges', async () => {
    const [a, b] = await instances();
    await new TestClient().login(a, 'alice');
    const gone = new TestClient();
    await gone.login(b, 'bob');
    await gone.post(b, '/api/logout');

    const text = (await request(b.url).get('/metrics')).text;
    const value = (series: string) => Number(new RegExp(`^${series.replace(/[{}]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1]);

    const instanceLabel = shared ? 'stats-b' : 'stats-a';
    expect(value(`sc_cluster_sessions_active{instance="${instanceLabel}"}`)).toBe(1);
    expect(value(`sc_cluster_users_active{instance="${instanceLabel}"}`)).toBe(1);
    expect(value(`sc_cluster_sessions_ended{reason="logout",instance="${instanceLabel}"}`)).toBe(1);
    expect(value(`sc_cluster_sessions_created{created_by="stats-a",instance="${instanceLabel}"}`)).toBe(shared ? 1 : 2);
    expect(value(`sc_cluster_logins_last_minute{instance="${instanceLabel}"}`)).toBe(2);
  });
});
