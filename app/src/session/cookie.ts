import { parse } from 'cookie';
import { sign, unsign } from 'cookie-signature';
import type { Request, Response } from 'express';
import type { Config } from '../config';

/** The session cookie: express-session's options, which the Redis store leaves out of every blob (redis-store.ts). */
export function sessionCookieOptions(config: Readonly<Config>) {
  return {
    path: '/',
    httpOnly: true,
    sameSite: config.session.sameSite,
    secure: 'auto', // Secure when the request came over https (X-Forwarded-Proto from nginx)
  } as const;
}

/** The same cookie as this request gets it from express-session. */
export function cookieOptions(config: Readonly<Config>, req: Request) {
  return { ...sessionCookieOptions(config), secure: req.secure };
}

/** Re-issues the session cookie with a new expiry (express-session only sends it when the data changed). */
export function issueSessionCookie(config: Readonly<Config>, req: Request, res: Response, expiresAt: number): void {
  const value = `s:${sign(req.sessionID, config.session.secrets[0]!)}`;
  res.cookie(config.session.cookieName, value, { ...cookieOptions(config, req), expires: new Date(expiresAt) });
}

/** The session's signed snapshot (REDIS_DOWN_POLICY=read-only, snapshot.ts): beside the session cookie, named after it. */
export function snapshotCookieName(config: Readonly<Config>): string {
  return `${config.session.cookieName}.snap`;
}

/** Clears the session cookie, and the snapshot that goes with it when there is one. */
export function clearSessionCookie(config: Readonly<Config>, req: Request, res: Response): void {
  res.clearCookie(config.session.cookieName, cookieOptions(config, req));
  if (config.session.redisDown.policy === 'read-only') res.clearCookie(snapshotCookieName(config), cookieOptions(config, req));
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
