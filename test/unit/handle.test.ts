import { sign } from 'cookie-signature';
import type { Request } from 'express';
import { ceilToSecond, cookieExpiry, presentedSessionId, sessionHandle, storeExpiry } from '../../app/src/session/handle';

const SID = 'AbCdEfGhIjKlMnOpQrStUvWxYz012345';
const OLD_SECRET = 'old-secret-0123456789abcdef';
const NEW_SECRET = 'new-secret-0123456789abcdef';

/** The only part of a request presentedSessionId reads. */
const withCookie = (cookie?: string) => ({ headers: cookie === undefined ? {} : { cookie } }) as unknown as Request;
const signedCookie = (sid: string, secret: string) => `sc.sid=${encodeURIComponent(`s:${sign(sid, secret)}`)}`;

describe('sessionHandle', () => {
  test('when called twice with one id, then the handle is the same, 22 URL-safe characters', () => {
    const first = sessionHandle(SID);
    const second = sessionHandle(SID);

    expect(first).toBe(second);
    expect(first).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });

  test('when two ids differ, then their handles differ', () => {
    expect(sessionHandle(SID)).not.toBe(sessionHandle(`${SID}x`));
  });

  test('when a handle is made, then it contains no part of the id', () => {
    const handle = sessionHandle(SID);

    expect(handle).not.toContain(SID);
    expect(handle).not.toContain(SID.slice(0, 8));
  });
});

describe('ceilToSecond', () => {
  test.each([
    [0, 0],
    [1, 1000],
    [999, 1000],
    [1000, 1000],
    [1001, 2000],
    [1_700_000_000_123, 1_700_000_001_000],
  ])('when given %i ms, then %i ms', (ms, expected) => {
    expect(ceilToSecond(ms)).toBe(expected);
  });
});

describe('presentedSessionId', () => {
  const secrets = [NEW_SECRET, OLD_SECRET];

  test('when the cookie is signed by the first secret, then the id is returned', () => {
    expect(presentedSessionId(withCookie(signedCookie(SID, NEW_SECRET)), 'sc.sid', secrets)).toBe(SID);
  });

  test('when the cookie is signed by the second of two secrets, then the id is still accepted', () => {
    expect(presentedSessionId(withCookie(signedCookie(SID, OLD_SECRET)), 'sc.sid', secrets)).toBe(SID);
  });

  test('when the signature was tampered with, then null', () => {
    const value = `s:${sign(SID, NEW_SECRET)}`;
    const tampered = `${value.slice(0, -1)}${value.endsWith('A') ? 'B' : 'A'}`;

    expect(presentedSessionId(withCookie(`sc.sid=${encodeURIComponent(tampered)}`), 'sc.sid', secrets)).toBeNull();
  });

  test('when the id was changed under a valid signature, then null', () => {
    const [, signature] = sign(SID, NEW_SECRET).split('.');

    expect(presentedSessionId(withCookie(`sc.sid=${encodeURIComponent(`s:${SID}x.${signature}`)}`), 'sc.sid', secrets)).toBeNull();
  });

  test('when the cookie is signed with an unknown secret, then null', () => {
    expect(presentedSessionId(withCookie(signedCookie(SID, 'someone-elses-secret-0123')), 'sc.sid', secrets)).toBeNull();
  });

  test.each([
    ['no cookie header', undefined],
    ['another cookie only', 'other=1'],
    ['an unsigned id', `sc.sid=${SID}`],
    ['garbage', 'sc.sid=%%%not-a-cookie'],
  ])('when the request has %s, then null', (_what, cookie) => {
    expect(presentedSessionId(withCookie(cookie), 'sc.sid', secrets)).toBeNull();
  });
});

describe('cookieExpiry and storeExpiry', () => {
  const NOW = 1_700_000_000_000;

  test('when the cookie expires at a Date or ISO text, then both give that instant floored to the second', () => {
    const expires = new Date(NOW + 60_500);

    expect([cookieExpiry({ cookie: { expires } }), cookieExpiry({ cookie: { expires: expires.toISOString() } })]).toEqual([NOW + 60_000, NOW + 60_000]);
    expect(storeExpiry({ cookie: { expires } }, NOW)).toBe(NOW + 60_000);
  });

  test.each([
    ['expires null (express-session without maxAge)', { cookie: { expires: null } }],
    ['no expires', { cookie: {} }],
    ['no cookie', {}],
  ])('when the session has %s, then there is no cookie expiry and the store keeps it one day', (_what, sess) => {
    expect(cookieExpiry(sess)).toBeNull();
    expect(storeExpiry(sess, NOW)).toBe(NOW + 86_400_000);
  });
});
