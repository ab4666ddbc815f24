import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Config } from '../config';
import { HttpError, unauthorized } from '../errors';
import { isStoreUnavailableError } from '../redis';
import { userById } from '../users';
import { activityOf, endOf } from './activity';
import { clearSessionCookie, issueSessionCookie, presentedSessionId } from './cookie';
import { isCsrfToken } from './csrf';
import { idleExpiry, isDueForExtension, lastPasswordCheck, timeoutsFor } from './expiry';
import { detachSession } from './lifecycle';
import { refreshSnapshot } from './snapshot';
import type { EndReason, LiveSession, SessionDeps } from './types';

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
 * precise 401 (and one whose user no longer exists as an expired one), enforces the absolute lifetime,
 * and extends the idle window lazily (at most once per SESSION_TOUCH_AFTER_S) so most reads cost one
 * Redis command.
 */
export function requireSession(deps: SessionDeps): RequestHandler {
  const { config, store, metrics } = deps;
  const { cookieName, secrets } = config.session;
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
      await store.end(live.userId, req.sessionID, 'expired', 0, endOf(req, config, 'expired'));
      metrics.sessionsEnded.inc({ reason: 'expired' });
      detachSession(req);
      clearSessionCookie(config, req, res);
      throw END_CODES.expired();
    }
    if (isDueForExtension(timeoutsFor(config.session, live.lifetime), now, live.lastSeenAt)) await extendIdleWindow(deps, req, res, live, now);
    refreshSnapshot(config, req, res, live, res.locals.sessionTimes?.idleExpiresAt ?? new Date(live.cookie.expires!).getTime(), now);
    next();
  };
}

/**
 * Moves the idle window on (store and cookie together). When the store takes reads but refuses writes — a
 * primary without the replicas min-replicas-to-write asks for, a replica not yet promoted — the request is
 * served without the extension: the session stays valid until its current idle expiry, the cookie keeps
 * that expiry, and the next request tries again. Nothing is promised that was not written.
 */
async function extendIdleWindow(deps: SessionDeps, req: Request, res: Response, live: LiveSession, now: number): Promise<void> {
  const { config, store } = deps;
  const idleExpiresAt = idleExpiry(timeoutsFor(config.session, live.lifetime), now, live.absoluteExpiresAt);
  let extended: boolean;
  try {
    extended = await store.extend(req.sessionID, live.userId, idleExpiresAt, now, activityOf(req, config, 'extend', { idleExpiresAt }));
  } catch (err) {
    if (!isStoreUnavailableError(err) || req.method !== 'GET') throw err;
    req.log?.warn({ err: (err as Error).message }, 'idle window not extended: the store refused the write');
    return;
  }
  if (!extended) throw await endedSessionError(deps, req, res, req.sessionID);
  issueSessionCookie(config, req, res, idleExpiresAt);
  res.locals.sessionTimes = { lastSeenAt: now, idleExpiresAt };
}

/**
 * Sensitive routes (ending the other sessions, the admin routes) need a password check within
 * SESSION_REAUTH_WINDOW_S: a stolen cookie alone, or an unattended browser, cannot use them. Past it the
 * answer is 401 reauth_required and the session itself stays: POST /api/reauth renews the check. Goes after
 * requireSession.
 */
export function requireRecentLogin(config: Readonly<Config>): RequestHandler {
  return (req, _res, next) => {
    const at = lastPasswordCheck(req.session as LiveSession);
    if (Date.now() - at > config.session.reauthWindowMs) {
      throw unauthorized('reauth_required', `this needs a password check within the last ${config.session.reauthWindowMs / 1000} s: POST /api/reauth {password}, then try again`);
    }
    next();
  };
}

/** Admin routes: the session's user must hold the admin role. Goes after requireSession. */
export const requireAdmin: RequestHandler = (req, _res, next) => {
  if (userById((req.session as LiveSession).userId)?.role !== 'admin') throw new HttpError(403, 'admin_only', 'only an admin may do this');
  next();
};

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
