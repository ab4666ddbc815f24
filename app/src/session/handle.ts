import { createHash } from 'node:crypto';
import { parse } from 'cookie';
import { unsign } from 'cookie-signature';
import type { Request } from 'express';

/** A non-secret, stable name for a session: a digest of its id. Raw ids never leave the server. */
export function sessionHandle(sid: string): string {
  return createHash('sha256').update(sid).digest('base64url').slice(0, 22);
}

/**
 * The session id the request's cookie names, if its signature verifies with any of the secrets.
 * express-session replaces an unknown id with a fresh one before handlers run, so this is how a
 * handler learns that the client *did* present a session that no longer exists.
 */
export function presentedSessionId(req: Request, cookieName: string, secrets: readonly string[]): string | null {
  const header = req.headers.cookie;
  if (!header) return null;
  const raw = parse(header)[cookieName];
  if (!raw?.startsWith('s:')) return null;
  for (const secret of secrets) {
    const sid = unsign(raw.slice(2), secret);
    if (sid !== false) return sid;
  }
  return null;
}

/** Expiry instants are whole seconds so the cookie's Expires (second precision) and the store's TTL agree exactly. */
export function ceilToSecond(ms: number): number {
  return Math.ceil(ms / 1000) * 1000;
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
