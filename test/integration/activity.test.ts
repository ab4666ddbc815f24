import { sleep } from '../../toolkit/time';
import { DEMO_USERS, TestClient } from '../helpers/client';
import { instancePairs, instancesForFile, storeModes, type TestInstance } from '../helpers/instance';

/*
 * The activity log (docs/http-contract.md, "Activity log"): every state change of a session, with its time,
 * instance, client address and user agent, newest first, the last 100, readable by the session's user while it
 * lives and for 24 h after it ends; reads are not logged. Each test's instances get a tag secret of their own,
 * so the user's sessions they see are that test's alone.
 */
jest.setTimeout(30_000);

const instance = instancesForFile();

interface Event {
  action: string;
  at: string;
  servedBy: string | null;
  ip: string | null;
  userAgent: string | null;
  [detail: string]: unknown;
}

describe.each(storeModes())('activity log ($mode store)', (mode) => {
  const { shared } = mode;
  const instances = instancePairs(instance, 'activity', mode);
  async function activity(client: TestClient, on: TestInstance, handle: string): Promise<Event[]> {
    const res = await client.get(on, `/api/sessions/${handle}/activity`);
    if (res.status !== 200) throw new Error(`activity of ${handle}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body.events as Event[];
  }

  test('when a session logs in, clicks, changes its cart and re-authenticates, then its log lists each change newest first, with instance, address and user agent, and reads add nothing', async () => {
    const [a, b] = await instances();
    const client = new TestClient('sc.sid', 'activity-browser');
    const login = await client.login(a, 'alice');
    const handle = login.body.session.handle as string;
    await client.post(b, '/api/visits');
    await client.post(a, '/api/visits');
    await client.post(b, '/api/cart/items', { productId: 'tea', quantity: 2 });
    await client.delete(a, '/api/cart/items/tea');
    await client.post(b, '/api/reauth', { password: DEMO_USERS.alice });
    const refused = await client.post(a, '/api/cart/items', { productId: 'mug', quantity: 100 }); // over the 99 limit

    const first = await activity(client, a, handle);
    for (let i = 0; i < 3; i++) await client.get(b, '/api/session');
    const view = await client.get(b, `/api/sessions/${handle}/activity`);

    expect(refused.status).toBe(400);
    expect(first.map((e) => e.action)).toEqual(['reauth', 'cart_remove', 'cart_add', 'visit', 'visit', 'login']);
    expect(first.map((e) => e.servedBy)).toEqual(shared ? ['activity-b', 'activity-a', 'activity-b', 'activity-a', 'activity-b', 'activity-a'] : first.map(() => 'activity-a'));
    for (const event of first) {
      expect(event.userAgent).toBe('activity-browser');
      expect(event.ip).toMatch(/127\.0\.0\.1/);
    }
    const times = first.map((e) => Date.parse(e.at));
    expect([...times].sort((x, y) => y - x)).toEqual(times);
    expect(first[5]).toMatchObject({ lifetime: 'standard', absoluteExpiresAt: login.body.session.absoluteExpiresAt });
    expect(first[2]).toMatchObject({ productId: 'tea', quantity: 2 });
    expect(first[1]).toMatchObject({ productId: 'tea' });
    expect(view.body).toEqual({ handle, current: true, events: first });
  });

  test('when sessions end by logout, by another device, by an admin and by the single-session policy, then each log ends with who ended it, readable afterwards from another session', async () => {
    const [a, b] = await instances();
    const [reader, loggedOut, revoked, forced] = [new TestClient(), new TestClient(), new TestClient(), new TestClient()];
    const readerHandle = (await reader.login(a, 'bob')).body.session.handle as string;
    const handles = [];
    for (const client of [loggedOut, revoked, forced]) handles.push((await client.login(b, 'bob')).body.session.handle as string);
    const admin = new TestClient();
    await admin.login(a, 'admin');

    await loggedOut.post(b, '/api/logout');
    await reader.delete(a, `/api/sessions/${handles[1]}`);
    await admin.delete(b, '/api/admin/users/u-bob/sessions');
    // The log is the user's own: the admin's session does not find another user's handle here.
    const asAdmin = await admin.get(a, `/api/sessions/${handles[0]}/activity`);
    const again = new TestClient();
    await again.login(a, 'bob');
    const logs = await Promise.all(handles.map((h) => activity(again, b, h)));
    const readerLog = await activity(again, a, readerHandle);

    expect([asAdmin.status, asAdmin.body.error]).toEqual([404, 'session_not_found']);
    expect(logs[0]![0]).toMatchObject({ action: 'logout', servedBy: shared ? 'activity-b' : 'activity-a' });
    expect(logs[1]![0]).toMatchObject({ action: 'revoke', revokedBy: 'device', handle: readerHandle });
    expect(logs[2]![0]).toMatchObject({ action: 'revoke', revokedBy: 'admin', admin: 'admin' });
    expect(readerLog[0]).toMatchObject({ action: 'revoke', revokedBy: 'admin', admin: 'admin' });
    for (const log of logs) expect(log.at(-1)!.action).toBe('login');

    const [single] = await instances({ SESSION_POLICY: 'single' });
    const older = new TestClient();
    const olderHandle = (await older.login(single, 'carol')).body.session.handle as string;
    const newer = new TestClient();
    await newer.login(single, 'carol');
    expect((await activity(newer, single, olderHandle))[0]).toMatchObject({ action: 'revoke', revokedBy: 'policy' });
  });

  test("when a session outlives its idle window or its absolute lifetime, then its log ends with that expiry, read from the store's own expiry", async () => {
    const [a, b] = await instances({ SESSION_IDLE_TIMEOUT_S: '1', SESSION_ABSOLUTE_TIMEOUT_S: '2', SESSION_TOUCH_AFTER_S: '0' });
    const [idle, absolute, reader] = [new TestClient(), new TestClient(), new TestClient()];
    const idleHandle = (await idle.login(a, 'carol')).body.session.handle as string;
    const absoluteHandle = (await absolute.login(a, 'carol')).body.session.handle as string;
    for (let i = 0; i < 3; i++) {
      await sleep(600);
      await absolute.get(b, '/api/session'); // keeps it alive within the idle window, until its absolute end
    }
    await sleep(1300); // expiries are whole seconds (expiry.ts): the absolute one is at most 3 s after the login
    const ended = await absolute.get(b, '/api/session');
    await reader.login(b, 'carol');

    const idleLog = await activity(reader, a, idleHandle);
    const absoluteLog = await activity(reader, b, absoluteHandle);

    expect(ended.body.error).toBe('session_expired');
    expect(idleLog.map((e) => e.action)).toEqual(['expire', 'login']);
    expect(idleLog[0]).toMatchObject({ reason: 'idle', servedBy: null, ip: null, userAgent: null });
    expect(Date.parse(idleLog[0]!.at) - Date.parse(idleLog[1]!.at)).toBeLessThanOrEqual(2000);
    // The idle window never runs past the absolute expiry, so the key expires then, before any request sees it spent.
    expect(absoluteLog[0]).toMatchObject({ action: 'expire', reason: 'absolute', servedBy: null });
    expect(Date.parse(absoluteLog[0]!.at)).toBe(Date.parse(absoluteLog.at(-1)!.absoluteExpiresAt as string));
    expect(absoluteLog.filter((e) => e.action === 'extend').length).toBeGreaterThanOrEqual(2);
  });

  test('when a session makes more than 100 changes, then its log keeps the newest 100', async () => {
    const [a] = await instances();
    const client = new TestClient();
    const handle = (await client.login(a, 'alice')).body.session.handle as string;

    for (let i = 0; i < 104; i++) await client.post(a, '/api/visits');
    const log = await activity(client, a, handle);

    expect(log).toHaveLength(100);
    expect(new Set(log.map((e) => e.action))).toEqual(new Set(['visit'])); // the login is the oldest, trimmed away
  });

  test('when the handle is malformed, foreign or unknown, or there is no session, then 400/404/401 and nothing is written', async () => {
    const [a] = await instances();
    const [alice, bob] = [new TestClient(), new TestClient()];
    const aliceHandle = (await alice.login(a, 'alice')).body.session.handle as string;
    const bobHandle = (await bob.login(a, 'bob')).body.session.handle as string;

    const malformed = await alice.get(a, '/api/sessions/not-a-handle/activity');
    const foreign = await alice.get(a, `/api/sessions/${bobHandle}/activity`);
    const unknown = await alice.get(a, `/api/sessions/${'A'.repeat(22)}/activity`);
    const anonymous = await new TestClient().get(a, `/api/sessions/${aliceHandle}/activity`);

    expect([malformed.status, malformed.body.error]).toEqual([400, 'invalid_handle']);
    expect([foreign.status, foreign.body.error]).toEqual([404, 'session_not_found']);
    expect([unknown.status, unknown.body.error]).toEqual([404, 'session_not_found']);
    expect([anonymous.status, anonymous.body.error]).toEqual([401, 'no_session']);
    expect((await activity(bob, a, bobHandle)).map((e) => e.action)).toEqual(['login']);
    expect((await activity(alice, a, aliceHandle)).map((e) => e.action)).toEqual(['login']);
  });
});
