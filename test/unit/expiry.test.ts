import { absoluteExpiry, ceilToSecond, cookieExpiry, defaultTouchAfterMs, idleExpiry, isDueForExtension, newCookieMaxAge, storeExpiry } from '../../app/src/session/expiry';

const TIMEOUTS = { idleTimeoutMs: 1_800_000, absoluteTimeoutMs: 28_800_000, touchAfterMs: 60_000 };

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

describe('absoluteExpiry and idleExpiry', () => {
  const NOW = 1_700_000_000_123;

  test('when a session starts, then both expiries are whole seconds, the idle one the nearer', () => {
    const absolute = absoluteExpiry(TIMEOUTS, NOW);

    expect(absolute).toBe(1_700_028_801_000);
    expect(idleExpiry(TIMEOUTS, NOW, absolute)).toBe(1_700_001_801_000);
  });

  test('when the absolute expiry is nearer than the idle window, then the idle expiry stops at it', () => {
    const absolute = NOW + 10_000;

    expect(idleExpiry(TIMEOUTS, NOW, absolute)).toBe(absolute);
  });
});

describe('isDueForExtension', () => {
  const LAST_SEEN = 1_700_000_000_000;

  test.each([
    [59_999, false],
    [60_000, true],
    [600_000, true],
  ])('when %i ms passed since the last extension (touch after 60 s), then %s', (elapsed, expected) => {
    expect(isDueForExtension(TIMEOUTS, LAST_SEEN + elapsed, LAST_SEEN)).toBe(expected);
  });
});

describe('defaultTouchAfterMs and newCookieMaxAge', () => {
  test('when the idle window is 30 minutes, then a session is extended at most once a minute', () => {
    expect(defaultTouchAfterMs(1_800_000)).toBe(60_000);
  });

  test('when the absolute lifetime is shorter than the idle window, then a new cookie lives no longer than it', () => {
    expect(newCookieMaxAge(TIMEOUTS)).toBe(1_800_000);
    expect(newCookieMaxAge({ ...TIMEOUTS, absoluteTimeoutMs: 600_000 })).toBe(600_000);
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
