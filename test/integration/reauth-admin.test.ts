import { sleep } from '../../toolkit/time';
import { DEMO_USERS, TestClient } from '../helpers/client';
import { instancePairs, instancesForFile, storeModes } from '../helpers/instance';

/*
 * Re-authentication and the admin's force-logout (docs/http-contract.md): the sensitive routes need a password
 * check within SESSION_REAUTH_WINDOW_S; POST /api/reauth renews it on the same session id; an admin lists and
 * ends any user's sessions, and with a shared store each ended session's next request, on another instance,
 * is 401 session_revoked. A short window (2 s) where a test waits it out, the default elsewhere.
 */
jest.setTimeout(30_000);

const SHORT_WINDOW = { SESSION_REAUTH_WINDOW_S: '2' };
const instance = instancesForFile();

/** Until the short window has closed on a login made at `loggedInAt`. */
const pastShortWindow = (loggedInAt: string) => sleep(Math.max(0, Date.parse(loggedInAt) + 2100 - Date.now()));

describe.each(storeModes())('re-authentication and admin ($mode store)', (mode) => {
  const { shared } = mode;
  const instances = instancePairs(instance, 'reauth', mode);
  test('when a user logs in, then the session says when the password was checked and until when that counts as recent', async () => {
    const [app] = await instances();
    const client = new TestClient();

    const login = await client.login(app, 'alice');
    const read = await client.get(app, '/api/session');

    expect(login.body.session.authenticatedAt).toBe(login.body.session.createdAt);
    expect(Date.parse(read.body.recentLoginUntil) - Date.parse(read.body.authenticatedAt)).toBe(900_000);
    expect(login.body.user.role).toBe('user');
  });

  test('when the window has passed, then "log out other devices" is 401 reauth_required and ends nothing; a reauth on the same session id lets it through', async () => {
    const [a, b] = await instances(SHORT_WINDOW);
    const [here, other] = [new TestClient(), new TestClient()];
    const login = await here.login(a, 'bob');
    await other.login(b, 'bob');
    await pastShortWindow(login.body.session.createdAt);
    const cookieBefore = here.cookie!.value;

    const refused = await here.delete(a, '/api/sessions');
    const otherMeanwhile = await other.get(b, '/api/session');
    const wrongPassword = await here.post(a, '/api/reauth', { password: 'not-bobs-password' });
    const reauth = await here.post(b, '/api/reauth', { password: DEMO_USERS.bob });
    const allowed = await here.delete(a, '/api/sessions');

    expect(refused.status).toBe(401);
    expect(refused.body.error).toBe('reauth_required');
    expect(otherMeanwhile.status).toBe(200);
    expect(wrongPassword.status).toBe(401);
    expect(wrongPassword.body.error).toBe('invalid_credentials');
    expect(reauth.status).toBe(200);
    expect(Date.parse(reauth.body.authenticatedAt)).toBeGreaterThan(Date.parse(login.body.session.createdAt));
    expect(Date.parse(reauth.body.recentLoginUntil) - Date.parse(reauth.body.authenticatedAt)).toBe(2000);
    expect(here.cookie!.value).toBe(cookieBefore); // the same session id: no new cookie
    expect(allowed.status).toBe(204);
    expect((await other.get(b, '/api/session')).body.error).toBe('session_revoked');
    const after = await here.get(a, '/api/session');
    expect(after.status).toBe(200);
    expect(after.body.authenticatedAt).toBe(reauth.body.authenticatedAt);
  });

  test('when POST /api/reauth gets bad input, then a 4xx names the problem and the session and its check stay as they were', async () => {
    const [app] = await instances();
    const client = new TestClient();
    const login = await client.login(app, 'carol');
    const anonymous = new TestClient();

    const missing = await client.post(app, '/api/reauth', {});
    const extra = await client.post(app, '/api/reauth', { password: DEMO_USERS.carol, username: 'alice' });
    const notText = await client.post(app, '/api/reauth', { password: 42 });
    const noCsrf = await client.post(app, '/api/reauth', { password: DEMO_USERS.carol }, { 'x-csrf-token': 'x'.repeat(32) });
    const noSession = await anonymous.post(app, '/api/reauth', { password: DEMO_USERS.carol });

    expect([missing.status, missing.body.error]).toEqual([400, 'invalid_body']);
    expect(missing.body.message).toMatch(/password/);
    expect([extra.status, extra.body.error]).toEqual([400, 'invalid_body']);
    expect([notText.status, notText.body.error]).toEqual([400, 'invalid_body']);
    expect([noCsrf.status, noCsrf.body.error]).toEqual([403, 'csrf_invalid']);
    expect([noSession.status, noSession.body.error]).toEqual([401, 'no_session']);
    const after = await client.get(app, '/api/session');
    expect(after.status).toBe(200);
    expect(after.body.authenticatedAt).toBe(login.body.session.authenticatedAt);
  });

  test("when the admin ends a user's sessions, then each one's next request, on another instance, is 401 session_revoked, and the admin's own session goes on", async () => {
    const [a, b] = await instances();
    const admin = new TestClient();
    const adminLogin = await admin.login(a, 'admin');
    const devices = [new TestClient('sc.sid', 'laptop'), new TestClient('sc.sid', 'phone')];
    for (const device of devices) await device.login(b, 'bob');
    const bystander = new TestClient();
    await bystander.login(b, 'alice');

    const laptopSid = devices[0]!.sessionId();
    const listed = await admin.get(a, '/api/admin/users/u-bob/sessions');
    const ended = await admin.delete(a, '/api/admin/users/u-bob/sessions');
    const endedAt = Date.now();
    const next = await Promise.all(devices.map((device) => device.get(b, '/api/session')));
    const firstRefusalMs = Date.now() - endedAt;

    expect(adminLogin.body.user).toEqual({ id: 'u-admin', username: 'admin', displayName: 'Admin', role: 'admin' });
    expect(listed.status).toBe(200);
    expect(listed.body.user.id).toBe('u-bob');
    expect((listed.body.sessions as { userAgent: string; current: boolean }[]).map((s) => [s.userAgent, s.current]).sort()).toEqual([['laptop', false], ['phone', false]]);
    expect(JSON.stringify(listed.body)).not.toContain(laptopSid);
    expect(ended.status).toBe(200);
    expect(ended.body).toEqual({ user: listed.body.user, ended: 2 });
    expect(next.map((res) => [res.status, res.body.error, res.headers['x-served-by']])).toEqual(devices.map(() => [401, 'session_revoked', shared ? 'reauth-b' : 'reauth-a']));
    expect(firstRefusalMs).toBeLessThan(5000);
    expect((await admin.get(a, '/api/admin/users/u-bob/sessions')).body.sessions).toEqual([]);
    expect((await admin.get(b, '/api/session')).status).toBe(200);
    expect((await bystander.get(b, '/api/session')).status).toBe(200);
  });

  test('when someone who is not an admin, or bad ids, or no CSRF token reach the admin routes, then 403/400/404 and no session ends', async () => {
    const [app] = await instances();
    const [admin, user, victim] = [new TestClient(), new TestClient(), new TestClient()];
    await admin.login(app, 'admin');
    await user.login(app, 'alice');
    await victim.login(app, 'carol');
    const csrf = admin.csrfToken;

    const userList = await user.get(app, '/api/admin/users/u-carol/sessions');
    const userEnd = await user.delete(app, '/api/admin/users/u-carol/sessions');
    const malformed = await admin.get(app, '/api/admin/users/Robert%27);DROP/sessions');
    const tooLong = await admin.delete(app, `/api/admin/users/u-${'a'.repeat(40)}/sessions`);
    const unknown = await admin.delete(app, '/api/admin/users/u-nobody/sessions');
    admin.csrfToken = 'x'.repeat(32);
    const noCsrf = await admin.delete(app, '/api/admin/users/u-carol/sessions');
    admin.csrfToken = csrf;
    const anonymous = await new TestClient().get(app, '/api/admin/users/u-carol/sessions');

    expect([userList.status, userList.body.error]).toEqual([403, 'admin_only']);
    expect([userEnd.status, userEnd.body.error]).toEqual([403, 'admin_only']);
    expect([malformed.status, malformed.body.error]).toEqual([400, 'invalid_userId']);
    expect(malformed.body.message).toMatch(/user id/);
    expect([tooLong.status, tooLong.body.error]).toEqual([400, 'invalid_userId']);
    expect([unknown.status, unknown.body.error]).toEqual([404, 'user_not_found']);
    expect([noCsrf.status, noCsrf.body.error]).toEqual([403, 'csrf_invalid']);
    expect([anonymous.status, anonymous.body.error]).toEqual([401, 'no_session']);
    expect((await victim.get(app, '/api/session')).status).toBe(200);
    expect((await user.get(app, '/api/session')).status).toBe(200);
  });

  test('when the admin acts past the re-authentication window, then 401 reauth_required and nothing ends, until POST /api/reauth', async () => {
    const [a, b] = await instances(SHORT_WINDOW);
    const [admin, victim] = [new TestClient(), new TestClient()];
    const login = await admin.login(a, 'admin');
    await victim.login(b, 'carol');
    await pastShortWindow(login.body.session.createdAt);

    const list = await admin.get(a, '/api/admin/users/u-carol/sessions');
    const end = await admin.delete(b, '/api/admin/users/u-carol/sessions');
    const victimMeanwhile = await victim.get(b, '/api/session');
    await admin.post(a, '/api/reauth', { password: DEMO_USERS.admin });
    const endAfterReauth = await admin.delete(b, '/api/admin/users/u-carol/sessions');

    expect([list.status, list.body.error]).toEqual([401, 'reauth_required']);
    expect([end.status, end.body.error]).toEqual([401, 'reauth_required']);
    expect(list.body.message).toMatch(/POST \/api\/reauth/);
    expect(victimMeanwhile.status).toBe(200);
    expect(endAfterReauth.status).toBe(200);
    expect(endAfterReauth.body.ended).toBe(1);
    expect((await victim.get(a, '/api/session')).body.error).toBe('session_revoked');
  });

  test('when the admin ends their own sessions, then the current one ends too and its cookie is cleared', async () => {
    const [a, b] = await instances();
    const [here, elsewhere] = [new TestClient(), new TestClient()];
    await here.login(a, 'admin');
    await elsewhere.login(b, 'admin');

    const ended = await here.delete(a, '/api/admin/users/u-admin/sessions');

    expect(ended.status).toBe(200);
    expect(ended.body.ended).toBe(2);
    expect(here.cookie).toBeUndefined();
    expect((await elsewhere.get(b, '/api/session')).body.error).toBe('session_revoked');
  });
});
