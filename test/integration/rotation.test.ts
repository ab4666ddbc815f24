import { unsign } from 'cookie-signature';
import request from 'supertest';
import { setSessionCookie } from '../helpers/cookies';
import { TestClient } from '../helpers/client';
import { startInstance, type TestInstance } from '../helpers/instance';

/*
 * SESSION_SECRETS is a list: the first secret signs, every one verifies. Instances of one cluster sharing
 * one Redis, each started with the list of one stage of a rotation, show which cookies each accepts.
 */
const OLD = 'rotation-old-secret-0123456789';
const NEW = 'rotation-new-secret-0123456789';

/** Which secret signed a cookie value (`s%3A<id>.<signature>`): 'old', 'new' or null. */
function signedWith(value: string): 'old' | 'new' | null {
  const raw = decodeURIComponent(value).slice('s:'.length);
  if (unsign(raw, OLD) !== false) return 'old';
  if (unsign(raw, NEW) !== false) return 'new';
  return null;
}

describe('secret rotation (redis store)', () => {
  const instances: Record<string, TestInstance> = {};
  // The stages of a rotation. Touching on every request (SESSION_TOUCH_AFTER_S=0) makes each answer re-issue
  // the cookie, as any request a minute after the last extension does.
  const stages = { before: OLD, adding: `${OLD},${NEW}`, rotated: `${NEW},${OLD}`, retired: NEW };

  beforeAll(async () => {
    for (const [stage, secrets] of Object.entries(stages)) {
      instances[stage] = await startInstance({ INSTANCE_ID: `rotation-${stage}`, SESSION_SECRETS: secrets, SESSION_TOUCH_AFTER_S: '0' });
    }
  });
  afterAll(async () => {
    await Promise.all(Object.values(instances).map((i) => i.close()));
  });

  test('when the secrets become [new, old], then a cookie signed with the old secret is still accepted, and re-issued signed with the new one', async () => {
    const client = new TestClient();
    const login = await client.login(instances.before!);
    const oldCookie = client.cookie!.value;

    const read = await client.get(instances.rotated!, '/api/session');
    const reissued = setSessionCookie(read);
    const onRetired = await client.get(instances.retired!, '/api/session');

    expect(signedWith(oldCookie)).toBe('old');
    expect(read.status).toBe(200);
    expect(read.body.handle).toBe(login.body.session.handle);
    expect(reissued).toBeDefined();
    expect(signedWith(reissued!.value)).toBe('new');
    expect(client.sessionId()).toBe(decodeURIComponent(oldCookie).slice(2, decodeURIComponent(oldCookie).lastIndexOf('.')));
    // The re-issued cookie outlives the old secret.
    expect(onRetired.status).toBe(200);
    expect(onRetired.body.handle).toBe(login.body.session.handle);
  });

  test('when an instance has the secrets [new, old], then a new login is signed with the new one', async () => {
    const client = new TestClient();

    await client.login(instances.rotated!);

    expect(signedWith(client.cookie!.value)).toBe('new');
    expect((await client.get(instances.adding!, '/api/session')).status).toBe(200);
  });

  test('when instances of [old] and [new, old] run side by side (a two-step rolling restart), then the old ones refuse the new cookies; adding the new secret last first ([old, new]) avoids it', async () => {
    const signedNew = new TestClient();
    await signedNew.login(instances.rotated!);
    const signedOld = new TestClient();
    await signedOld.login(instances.adding!);

    const newOnBefore = await request(instances.before!.url).get('/api/session').set('cookie', `sc.sid=${signedNew.cookie!.value}`);
    const newOnAdding = await request(instances.adding!.url).get('/api/session').set('cookie', `sc.sid=${signedNew.cookie!.value}`);
    const oldOnBefore = await request(instances.before!.url).get('/api/session').set('cookie', `sc.sid=${signedOld.cookie!.value}`);

    expect(newOnBefore.status).toBe(401);
    expect(newOnBefore.body.error).toBe('no_session');
    expect(newOnAdding.status).toBe(200);
    expect(signedWith(signedOld.cookie!.value)).toBe('old');
    expect(oldOnBefore.status).toBe(200);
  });

  test('when the secrets become [new, old], then a CSRF token derived with the old secret is still accepted, GET /api/session hands out the new one, and once the old secret is retired only the new one is', async () => {
    const client = new TestClient();
    const login = await client.login(instances.before!);
    const oldToken = login.body.csrfToken;

    const view = await client.get(instances.rotated!, '/api/session');
    const newToken = view.body.csrfToken;
    const withOld = await client.post(instances.rotated!, '/api/visits', undefined, { 'x-csrf-token': oldToken });
    const withNew = await client.post(instances.rotated!, '/api/visits', undefined, { 'x-csrf-token': newToken });
    const oldOnRetired = await client.post(instances.retired!, '/api/visits', undefined, { 'x-csrf-token': oldToken });
    const newOnRetired = await client.post(instances.retired!, '/api/visits', undefined, { 'x-csrf-token': newToken });

    expect(newToken).not.toBe(oldToken);
    expect([withOld.status, withNew.status]).toEqual([200, 200]);
    expect(oldOnRetired.status).toBe(403);
    expect(oldOnRetired.body.error).toBe('csrf_invalid');
    expect(newOnRetired.status).toBe(200);
    expect(newOnRetired.body.visits).toBe(3);
  });

  test('when the old secret is retired, then a cookie still signed with it is refused, and the session it names is left alone', async () => {
    const client = new TestClient();
    await client.login(instances.before!);
    const stale = client.cookie!.value;

    const refused = await request(instances.retired!.url).get('/api/session').set('cookie', `sc.sid=${stale}`);
    const stillThere = await request(instances.before!.url).get('/api/session').set('cookie', `sc.sid=${stale}`);

    expect(refused.status).toBe(401);
    expect(refused.body.error).toBe('no_session');
    expect(stillThere.status).toBe(200);
  });
});
