import { TestClient } from '../helpers/client';
import { startInstance, type TestInstance } from '../helpers/instance';

/** Two app instances sharing one Redis: what round robin does to a user, in one process. */
describe('two instances sharing one Redis', () => {
  let a: TestInstance;
  let b: TestInstance;

  beforeAll(async () => {
    a = await startInstance({ INSTANCE_ID: 'app-a' });
    b = await startInstance({ INSTANCE_ID: 'app-b' });
  });
  afterAll(async () => {
    await Promise.all([a.close(), b.close()]);
  });

  test('when a user logs in on A, then B reads and writes the same session, and both agree', async () => {
    const client = new TestClient();
    await client.login(a);

    const viewOnB = await client.get(b, '/api/session');
    const visitOnB = await client.post(b, '/api/visits');
    const visitOnA = await client.post(a, '/api/visits');
    const cartOnB = await client.post(b, '/api/cart/items', { productId: 'tea', quantity: 2 });
    const cartOnA = await client.get(a, '/api/cart');

    expect(viewOnB.status).toBe(200);
    expect(viewOnB.headers['x-served-by']).toBe('app-b');
    expect(viewOnB.body).toMatchObject({ createdBy: 'app-a', servedBy: 'app-b', user: { username: 'alice' } });
    expect([visitOnB.body.visits, visitOnA.body.visits]).toEqual([1, 2]);
    expect(cartOnB.body.items).toEqual([{ productId: 'tea', quantity: 2 }]);
    expect(cartOnA.body.items).toEqual([{ productId: 'tea', quantity: 2 }]);
  });

  test('when the user logs out on B, then A refuses the old cookie', async () => {
    const client = new TestClient();
    await client.login(a);
    const cookie = client.cookie;

    const logout = await client.post(b, '/api/logout');
    client.cookie = cookie; // a replay of the cookie the browser just dropped
    const onA = await client.get(a, '/api/session');

    expect(logout.status).toBe(204);
    expect(onA.status).toBe(401);
    expect(onA.body.error).toBe('no_session');
  });

  test('when a session made on A is revoked from B, then A answers session_revoked', async () => {
    // Other test files log bob in on the same Redis: name these devices uniquely.
    const desktop = new TestClient('sc.sid', `desktop-${process.pid}`);
    const phone = new TestClient('sc.sid', `phone-${process.pid}`);
    await desktop.login(a, 'bob');
    await phone.login(b, 'bob');
    const desktopHandle = (await desktop.get(a, '/api/session')).body.handle;

    const listedOnB = await phone.get(b, '/api/sessions');
    const revoke = await phone.delete(b, `/api/sessions/${desktopHandle}`);
    const desktopOnA = await desktop.get(a, '/api/session');

    const devices = (listedOnB.body.sessions as { userAgent: string; createdBy: string }[]).filter((s) => s.userAgent.endsWith(`-${process.pid}`));
    expect(devices.map((s) => `${s.userAgent.split('-')[0]}@${s.createdBy}`).sort()).toEqual(['desktop@app-a', 'phone@app-b']);
    expect(revoke.status).toBe(204);
    expect(desktopOnA.status).toBe(401);
    expect(desktopOnA.body.error).toBe('session_revoked');
    expect((await phone.get(a, '/api/session')).status).toBe(200);
  });

  test('when requests alternate between A and B, then the counter never skips or repeats', async () => {
    const client = new TestClient();
    await client.login(b, 'carol');

    const seen: number[] = [];
    for (let i = 0; i < 20; i++) seen.push((await client.post(i % 2 ? a : b, '/api/visits')).body.visits);

    expect(seen).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
  });

  test('when either instance counts sessions, then both report the same number', async () => {
    const [onA, onB] = await Promise.all([a, b].map((i) => new TestClient().get(i, '/api/cluster')));

    expect(onA!.body.sessions).toBe(onB!.body.sessions);
    expect(onA!.body.sessions).toBeGreaterThan(0);
  });
});
