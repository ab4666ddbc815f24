import type { Config } from '../config';

/*
 * Every rule of a session's lifetime (docs/architecture.md, "Why the lazy touch keeps cookie expiry == Redis
 * TTL"): an absolute lifetime fixed at login, an idle window moved on at most once per touch-after, both in
 * whole seconds, and the one instant that is at once the cookie's Expires and the store's expiry. A login
 * sets them (lifecycle.ts), requireSession enforces and extends them (guards.ts), the stores keep to them.
 */

type Timeouts = Pick<Config['session'], 'idleTimeoutMs' | 'absoluteTimeoutMs' | 'touchAfterMs'>;

/** The timeouts of a session's lifetime class: the settings' own, or their `remember` ones. */
export function timeoutsFor(session: Config['session'], lifetime: 'remembered' | undefined): Timeouts {
  return lifetime === 'remembered' ? session.remember : session;
}

/** By default a session is extended at most once per 1/30 of its idle window (60 s for 30 min). */
export function defaultTouchAfterMs(idleTimeoutMs: number): number {
  return Math.floor(idleTimeoutMs / 30);
}

/** Expiry instants are whole seconds so the cookie's Expires (second precision) and the store's TTL agree exactly. */
export function ceilToSecond(ms: number): number {
  return Math.ceil(ms / 1000) * 1000;
}

/** When a session started at `now` reaches its absolute lifetime: fixed at login, never moved. */
export function absoluteExpiry(timeouts: Timeouts, now: number): number {
  return ceilToSecond(now + timeouts.absoluteTimeoutMs);
}

/** The idle expiry of a session started or extended at `now`: never past its absolute expiry. */
export function idleExpiry(timeouts: Timeouts, now: number, absoluteExpiresAt: number): number {
  return Math.min(ceilToSecond(now + timeouts.idleTimeoutMs), absoluteExpiresAt);
}

/** Whether a request at `now` extends the session: lazily, so most reads cost one store command and write nothing. */
export function isDueForExtension(timeouts: Timeouts, now: number, lastSeenAt: number): boolean {
  return now - lastSeenAt >= timeouts.touchAfterMs;
}

/** The maxAge express-session gives the cookie of a session it creates; a login then sets the expiry itself (idleExpiry). */
export function newCookieMaxAge(timeouts: Timeouts): number {
  return Math.min(timeouts.idleTimeoutMs, timeouts.absoluteTimeoutMs);
}

/**
 * How long the stores keep a session whose cookie has no expiry (express-session's default without `maxAge`:
 * a cookie that lasts as long as the browser runs): one day, connect-redis's default TTL. The app's own
 * sessions always have an expiry (lifecycle.ts); a store must still keep, not drop, one that has none.
 */
const TTL_WITHOUT_COOKIE_EXPIRY_MS = 86_400_000;

type WithCookie = { cookie?: { expires?: string | Date | null | boolean } };

/**
 * When a stored session's cookie expires, floored to the second: the cookie header carries whole seconds,
 * and the store must not keep the session past its cookie. null when the cookie has no expiry.
 */
export function cookieExpiry(sess: WithCookie): number | null {
  const expires = sess.cookie?.expires;
  return expires && typeof expires !== 'boolean' ? Math.floor(new Date(expires).getTime() / 1000) * 1000 : null;
}

/** Until when a store keeps a session saved at `now`: its cookie's expiry, or a day when the cookie has none. */
export function storeExpiry(sess: WithCookie, now = Date.now()): number {
  return cookieExpiry(sess) ?? now + TTL_WITHOUT_COOKIE_EXPIRY_MS;
}

/** When the session's password was last checked: a reauth's time, else the login's (createdAt). */
export function lastPasswordCheck(s: { authenticatedAt?: number; createdAt: number }): number {
  return s.authenticatedAt ?? s.createdAt;
}
