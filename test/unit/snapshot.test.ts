import { sign } from 'cookie-signature';
import type { LiveSession } from '../../app/src/session/types';
import { decodeSnapshot, encodeSnapshot, snapshotOf, type SessionSnapshot } from '../../app/src/session/snapshot';
import { sessionHandle } from '../../app/src/session/handle';

const OLD_SECRET = 'old-secret-0123456789abcdef';
const NEW_SECRET = 'new-secret-0123456789abcdef';
const SID = 'AbCdEfGhIjKlMnOpQrStUvWxYz012345';
const NOW = Date.UTC(2026, 11, 2, 12);

const live = { userId: 'u-alice', createdAt: NOW - 60_000, absoluteExpiresAt: NOW + 8 * 3600_000, createdBy: 'app-1' } as LiveSession;
const snapshot = (over: Partial<SessionSnapshot> = {}): SessionSnapshot => ({ ...snapshotOf(live, SID, NOW + 1800_000, NOW, 60_000), ...over });

describe('the session snapshot cookie (REDIS_DOWN_POLICY=read-only)', () => {
  test('when a snapshot is made, then it names the session by its handle, never its id, and expires after the TTL', () => {
    const made = snapshot();
    const value = encodeSnapshot(made, NEW_SECRET);

    expect(made).toEqual({ u: 'u-alice', h: sessionHandle(SID), l: 'standard', c: NOW - 60_000, i: NOW + 1800_000, a: live.absoluteExpiresAt, b: 'app-1', x: NOW + 60_000 });
    expect(Buffer.from(value.split('.')[0]!, 'base64url').toString()).not.toContain(SID);
    expect(value.length).toBeLessThan(250);
  });

  test('when the session ends before the TTL (its idle or absolute expiry), then the snapshot ends with it', () => {
    expect(snapshotOf(live, SID, NOW + 10_000, NOW, 60_000).x).toBe(NOW + 10_000);
    expect(snapshotOf({ ...live, absoluteExpiresAt: NOW + 5_000 } as LiveSession, SID, NOW + 10_000, NOW, 60_000).x).toBe(NOW + 5_000);
  });

  test('when it is signed by the first or the second of the secrets (rotation), then it decodes to what was signed', () => {
    const made = snapshot();

    expect(decodeSnapshot(encodeSnapshot(made, NEW_SECRET), [NEW_SECRET, OLD_SECRET])).toEqual(made);
    expect(decodeSnapshot(encodeSnapshot(made, OLD_SECRET), [NEW_SECRET, OLD_SECRET])).toEqual(made);
  });

  test('when its payload or signature was altered, or no secret signed it, then it is refused', () => {
    const value = encodeSnapshot(snapshot(), NEW_SECRET);
    const [payload, signature] = value.split('.') as [string, string];
    const otherUser = Buffer.from(JSON.stringify(snapshot({ u: 'u-bob' }))).toString('base64url');

    expect(decodeSnapshot(`${otherUser}.${signature}`, [NEW_SECRET])).toBeNull();
    expect(decodeSnapshot(`${payload}.${signature.slice(0, -1)}${signature.endsWith('A') ? 'B' : 'A'}`, [NEW_SECRET])).toBeNull();
    expect(decodeSnapshot(value, [OLD_SECRET])).toBeNull();
  });

  test('when a signed value is not a snapshot (another shape, not JSON), then it is refused, not thrown', () => {
    const signedJson = (json: string) => sign(Buffer.from(json).toString('base64url'), NEW_SECRET);

    expect(decodeSnapshot(signedJson(JSON.stringify({ ...snapshot(), extra: 1 })), [NEW_SECRET])).toBeNull();
    expect(decodeSnapshot(signedJson(JSON.stringify({ ...snapshot(), x: 'soon' })), [NEW_SECRET])).toBeNull();
    expect(decodeSnapshot(signedJson('not json'), [NEW_SECRET])).toBeNull();
  });
});
