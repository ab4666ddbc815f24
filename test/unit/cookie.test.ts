import { sign } from 'cookie-signature';
import type { Request } from 'express';
import { presentedSessionId } from '../../app/src/session/cookie';

const SID = 'AbCdEfGhIjKlMnOpQrStUvWxYz012345';
const OLD_SECRET = 'old-secret-0123456789abcdef';
const NEW_SECRET = 'new-secret-0123456789abcdef';

/** The only part of a request presentedSessionId reads. */
const withCookie = (cookie?: string) => ({ headers: cookie === undefined ? {} : { cookie } }) as unknown as Request;
const signedCookie = (sid: string, secret: string) => `sc.sid=${encodeURIComponent(`s:${sign(sid, secret)}`)}`;

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
