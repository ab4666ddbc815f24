import { TestClient } from '../helpers/client';
import { reportFigures } from '../helpers/stack';
import { clusterInfo } from './cluster';

describe('scenario 1: nginx round robin over three apps sharing Redis', () => {
  test('when one logged-in client sends 30 requests, then all three instances serve it and visits grows by exactly 1 each time', async () => {
    const target = { url: clusterInfo().httpUrl };
    const client = new TestClient();
    await client.login(target);

    const servedBy: string[] = [];
    const visits: number[] = [];
    for (let i = 0; i < 30; i++) {
      const res = await client.post(target, '/api/visits');
      expect(res.status).toBe(200);
      servedBy.push(String(res.headers['x-served-by']));
      visits.push(res.body.visits);
    }

    expect(new Set(servedBy)).toEqual(new Set(['app-1', 'app-2', 'app-3']));
    expect(visits).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    const share = Object.fromEntries(['app-1', 'app-2', 'app-3'].map((id) => [id, servedBy.filter((s) => s === id).length]));
    reportFigures('round-robin', { requests: 30, share });
  });

  test("when the admin ends a user's sessions through nginx, then each of them is refused with 401 session_revoked on its very next request, on the other instances too", async () => {
    const target = { url: clusterInfo().httpUrl };
    const admin = new TestClient();
    await admin.login(target, 'admin');
    const devices = [new TestClient(), new TestClient(), new TestClient()];
    for (const device of devices) await device.login(target, 'bob');
    const before = await Promise.all(devices.map((device) => device.get(target, '/api/session')));

    const ended = await admin.delete(target, '/api/admin/users/u-bob/sessions');
    const endedAt = Date.now();
    const next = [];
    for (const device of devices) next.push({ res: await device.get(target, '/api/session'), afterMs: Date.now() - endedAt });

    const endedBy = String(ended.headers['x-served-by']);
    const refusedBy = next.map(({ res }) => String(res.headers['x-served-by']));
    reportFigures('admin force-logout', { ended: ended.body.ended, endedBy, refusedBy, firstRefusalAfterMs: next[0]!.afterMs, allRefusedAfterMs: next.at(-1)!.afterMs });
    expect(before.map((res) => res.status)).toEqual([200, 200, 200]);
    expect(ended.status).toBe(200);
    expect(ended.body.ended).toBeGreaterThanOrEqual(3);
    expect(next.map(({ res }) => [res.status, res.body.error])).toEqual(devices.map(() => [401, 'session_revoked']));
    expect(refusedBy.some((instance) => instance !== endedBy)).toBe(true);
    expect((await admin.get(target, '/api/session')).status).toBe(200);
  });

  test('when the session is read through nginx, then the app sees the client\'s headers and nginx hides its version', async () => {
    const target = { url: clusterInfo().httpUrl };
    const client = new TestClient('sc.sid', 'cluster-agent');
    await client.login(target);

    const sessions = await client.get(target, '/api/sessions');

    expect(sessions.status).toBe(200);
    const current = sessions.body.sessions.find((s: { current: boolean }) => s.current);
    expect(current.userAgent).toBe('cluster-agent');
    expect(current.ip).not.toBe('');
    // server_tokens off: nginx names itself without its version.
    expect(sessions.headers['server']).toBe('nginx');
  });
});
