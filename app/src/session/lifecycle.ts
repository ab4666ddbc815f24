import { promisify } from 'node:util';
import { sign } from 'cookie-signature';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Session, SessionData } from 'express-session';
import type { Config } from '../config';
import { HttpError, unauthorized } from '../errors';
import type { Metrics } from '../metrics';
import { userById } from '../users';
import { csrfToken, isCsrfToken } from './csrf';
import { ceilToSecond, presentedSessionId, sessionHandle } from './handle';
import { enforcePolicy } from './policy';
import type { CartItem, SessionView } from '../http-contract';
import type { Cart, EndReason, SessionStore, SessionUser } from './types';

export interface SessionDeps {
  config: Readonly<Config>;
  store: SessionStore;
  metrics: Metrics;
}

/** An authenticated session as a handler sees it. */
export type LiveSession = Session & SessionData;

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Locals {
      /** Set by requireSession: the session's timing as this response leaves it. */
      sessionTimes?: { lastSeenAt: number; idleExpiresAt: number };
    }
  }
}

export function cartItems(cart: Cart | undefined): CartItem[] {
  return Object.entries(cart ?? {})
    .map(([productId, quantity]) => ({ productId, quantity }))
    .sort((a, b) => a.productId.localeCompare(b.productId));
}

const iso = (ms: number) => new Date(ms).toISOString();

export function sessionView(req: Request, res: Response, config: Readonly<Config>): SessionView {
  const s = req.session as LiveSession;
  const times = res.locals.sessionTimes ?? { lastSeenAt: s.lastSeenAt, idleExpiresAt: new Date(s.cookie.expires!).getTime() };
  return {
    handle: sessionHandle(req.sessionID),
    user: userById(s.userId)!, // requireSession (or the login) has checked that the user exists
    createdAt: iso(s.createdAt),
    lastSeenAt: iso(times.lastSeenAt),
    idleExpiresAt: iso(times.idleExpiresAt),
    absoluteExpiresAt: iso(s.absoluteExpiresAt),
    visits: s.visits,
    cart: { items: cartItems(s.cart) },
    createdBy: s.createdBy,
    servedBy: config.instanceId,
    // A session created by an earlier version keeps the token it stored: instances of that version, still
    // running during a rolling deploy, check that one.
    csrfToken: s.csrfToken ?? csrfToken(req.sessionID, config.session.secrets),
  };
}

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
function cookieOptions(config: Readonly<Config>, req: Request) {
  return { ...sessionCookieOptions(config), secure: req.secure };
}

/** Re-issues the session cookie with a new expiry (express-session only sends it when the data changed). */
function issueCookie(config: Readonly<Config>, req: Request, res: Response, expiresAt: number): void {
  const value = `s:${sign(req.sessionID, config.session.secrets[0]!)}`;
  res.cookie(config.session.cookieName, value, { ...cookieOptions(config, req), expires: new Date(expiresAt) });
}

export function clearSessionCookie(config: Readonly<Config>, req: Request, res: Response): void {
  res.clearCookie(config.session.cookieName, cookieOptions(config, req));
}

/** Forgets the request's session so express-session neither saves nor touches it at the end. */
function detachSession(req: Request): void {
  (req as { session?: unknown }).session = undefined;
}

const END_CODES: Record<EndReason, () => HttpError> = {
  revoked: () => unauthorized('session_revoked', 'this session was revoked from another device or by a newer login'),
  logged_out: () => unauthorized('no_session', 'this session was logged out; log in again'),
  expired: () => unauthorized('session_expired', 'this session reached its absolute lifetime; log in again'),
};

/**
 * The 401 for a cookie whose session is gone: the marker left by logout or revocation says which,
 * otherwise it expired (or lived in a sticky instance that died). The stale cookie is cleared.
 */
export async function endedSessionError({ config, store }: SessionDeps, req: Request, res: Response, sid: string): Promise<HttpError> {
  const reason = await store.endReason(sid);
  detachSession(req);
  clearSessionCookie(config, req, res);
  return reason ? END_CODES[reason]() : unauthorized('session_expired', 'this session expired or no longer exists; log in again');
}

/**
 * Guards routes that need a logged-in session: rejects a missing, expired or revoked one with the
 * precise 401 (and one whose user no longer exists as an expired one), enforces the absolute lifetime, and extends the idle window lazily (at most once per
 * SESSION_TOUCH_AFTER_S) so most reads cost one Redis command.
 */
export function requireSession(deps: SessionDeps): RequestHandler {
  const { config, store, metrics } = deps;
  const { idleTimeoutMs, touchAfterMs, cookieName, secrets } = config.session;
  return async (req: Request, res: Response, next: NextFunction) => {
    const s = req.session as Partial<LiveSession> | undefined;
    if (!s?.userId || !userById(s.userId)) {
      const presented = presentedSessionId(req, cookieName, secrets);
      if (!presented) throw unauthorized('no_session', 'log in first');
      throw await endedSessionError(deps, req, res, presented);
    }
    const live = s as LiveSession;
    const now = Date.now();
    if (now >= live.absoluteExpiresAt) {
      // No marker needed: a cookie whose session is simply gone is already answered session_expired.
      await store.end(live.userId, req.sessionID, 'expired', 0);
      metrics.sessionsEnded.inc({ reason: 'expired' });
      detachSession(req);
      clearSessionCookie(config, req, res);
      throw END_CODES.expired();
    }
    if (now - live.lastSeenAt >= touchAfterMs) {
      const idleExpiresAt = Math.min(ceilToSecond(now + idleTimeoutMs), live.absoluteExpiresAt);
      if (!(await store.extend(req.sessionID, live.userId, idleExpiresAt, now))) {
        throw await endedSessionError(deps, req, res, req.sessionID);
      }
      issueCookie(config, req, res, idleExpiresAt);
      res.locals.sessionTimes = { lastSeenAt: now, idleExpiresAt };
    }
    next();
  };
}

/** State-changing requests must echo the session's CSRF token (csrf.ts) in X-CSRF-Token. Goes after requireSession. */
export function requireCsrf(config: Readonly<Config>): RequestHandler {
  return (req, _res, next) => {
    const given = req.get('x-csrf-token') ?? '';
    if (!isCsrfToken(given, req.sessionID, config.session.secrets, (req.session as LiveSession).csrfToken)) {
      throw new HttpError(403, 'csrf_invalid', 'missing or wrong X-CSRF-Token header');
    }
    next();
  };
}

/**
 * Starts a session for a user who just proved who they are: a new id (no fixation), fresh timers,
 * saved before the response so a store failure is a clean 5xx, then the per-user policy.
 */
export async function startSession(deps: SessionDeps, req: Request, user: SessionUser): Promise<LiveSession> {
  try {
    return await openSession(deps, req, user);
  } catch (err) {
    // A login that fails leaves no session: express-session would otherwise save the regenerated session
    // once more as the error's response ends, after its status is sent, and send that session's cookie.
    detachSession(req);
    throw err;
  }
}

async function openSession({ config, store, metrics }: SessionDeps, req: Request, user: SessionUser): Promise<LiveSession> {
  const previous = req.session as Partial<LiveSession>;
  if (previous.userId) {
    await store.end(previous.userId, req.sessionID, 'logged_out', previous.absoluteExpiresAt ?? 0);
    metrics.sessionsEnded.inc({ reason: 'logged_out' });
  }
  await promisify(req.session.regenerate.bind(req.session))();
  const now = Date.now();
  const absoluteExpiresAt = ceilToSecond(now + config.session.absoluteTimeoutMs);
  const idleExpiresAt = Math.min(ceilToSecond(now + config.session.idleTimeoutMs), absoluteExpiresAt);
  const s = req.session as LiveSession;
  Object.assign(s, {
    userId: user.id,
    createdAt: now,
    lastSeenAt: now,
    absoluteExpiresAt,
    visits: 0,
    cart: {},
    createdBy: config.instanceId,
    userAgent: (req.get('user-agent') ?? '').slice(0, 200),
    ip: req.ip ?? '',
  } satisfies Partial<SessionData>);
  s.cookie.expires = new Date(idleExpiresAt);
  await promisify(s.save.bind(s))();
  // express-session saves a regenerated session again when the response ends; it is saved already.
  Object.defineProperty(s, 'save', { value: (cb?: () => void) => cb?.(), configurable: true });
  await store.register(user.id, req.sessionID, idleExpiresAt);
  metrics.sessionsCreated.inc();
  const revoked = await enforcePolicy(store, config.session.policy, user.id);
  if (revoked > 0) metrics.sessionsEnded.inc({ reason: 'revoked' }, revoked);
  return s;
}

/** Ends the request's own session everywhere (logout, or revoking one's own handle). */
export async function endCurrentSession({ config, store, metrics }: SessionDeps, req: Request, res: Response, reason: EndReason): Promise<void> {
  const s = req.session as LiveSession;
  // The marker lasts as long as the cookie could: never past the absolute expiry.
  await store.end(s.userId, req.sessionID, reason, s.absoluteExpiresAt);
  metrics.sessionsEnded.inc({ reason });
  detachSession(req);
  clearSessionCookie(config, req, res);
}
