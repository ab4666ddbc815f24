import { promisify } from 'node:util';
import type { SessionData } from 'express-session';
import { MemorySessionStore } from '../../app/src/session/memory-store';
import { enforcePolicy, othersAllowed } from '../../app/src/session/policy';
import { anEntry } from '../helpers/activity';

const BY_POLICY = anEntry('revoke', { revokedBy: 'policy' });

describe('othersAllowed', () => {
  test('when the policy is multi, then any number of other sessions may stay', () => {
    expect(othersAllowed({ kind: 'multi' })).toBe(Number.POSITIVE_INFINITY);
  });

  test('when the policy is single, then no other session may stay', () => {
    expect(othersAllowed({ kind: 'single' })).toBe(0);
  });

  test.each([
    [1, 0],
    [2, 1],
    [5, 4],
  ])('when the policy is max:%i, then %i other sessions may stay', (max, allowed) => {
    expect(othersAllowed({ kind: 'max', max })).toBe(allowed);
  });
});

describe('enforcePolicy (memory store)', () => {
  let store: MemorySessionStore;

  beforeEach(() => {
    store = new MemorySessionStore();
  });
  afterEach(async () => {
    await store.close();
  });

  /** Saves and indexes a session of u-1 created at `createdAt`, as a login does. */
  async function loginAt(sid: string, createdAt: number): Promise<void> {
    const expires = new Date(Date.now() + 60_000);
    const sess = { cookie: { expires, originalMaxAge: 60_000 }, userId: 'u-1', createdAt, lastSeenAt: createdAt };
    await promisify(store.set.bind(store))(sid, sess as unknown as SessionData);
    await store.register('u-1', sid, Date.now() + 60_000, anEntry('login'));
  }
  const liveSids = async () => (await store.listForUser('u-1')).map((s) => s.sid).sort();

  test('when the policy is max:2 and four sessions exist, then the two newest stay and the two oldest are revoked', async () => {
    await loginAt('s-old', 1000);
    await loginAt('s-new', 4000);
    await loginAt('s-older', 500);
    await loginAt('s-mid', 2000);

    const revoked = await enforcePolicy(store, { kind: 'max', max: 2 }, 'u-1', BY_POLICY);

    expect(revoked).toBe(2);
    expect(await liveSids()).toEqual(['s-mid', 's-new']);
    expect(await store.endReason('s-older')).toBe('revoked');
  });

  test('when two sessions were created in the same millisecond under single, then exactly one stays, whichever order they are seen in', async () => {
    await loginAt('s-b', 1000);
    await loginAt('s-a', 1000);

    const revoked = await enforcePolicy(store, { kind: 'single' }, 'u-1', BY_POLICY);

    expect(revoked).toBe(1);
    expect(await liveSids()).toHaveLength(1);
  });

  test('when two logins under single both apply the policy after both registered (a parallel login race), then exactly the newer session survives', async () => {
    await loginAt('s-first', 1000);
    await loginAt('s-second', 1001);

    // Each login applies the policy once; here both see both sessions, as when they overlap in time.
    const revoked = await Promise.all([enforcePolicy(store, { kind: 'single' }, 'u-1', BY_POLICY), enforcePolicy(store, { kind: 'single' }, 'u-1', BY_POLICY)]);

    expect(await liveSids()).toEqual(['s-second']);
    expect(revoked).toEqual([1, 1]); // both ended the same, older session
  });

  test('when the policy is multi, then nothing is revoked', async () => {
    await loginAt('s-1', 1000);
    await loginAt('s-2', 2000);

    expect(await enforcePolicy(store, { kind: 'multi' }, 'u-1', BY_POLICY)).toBe(0);
    expect(await liveSids()).toEqual(['s-1', 's-2']);
  });
});
