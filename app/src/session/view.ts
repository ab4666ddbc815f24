import type { Request, Response } from 'express';
import type { Config } from '../config';
import type { CartItem, DeviceSession, SessionView } from '../http-contract';
import { userById } from '../users';
import { csrfToken } from './csrf';
import { lastPasswordCheck } from './expiry';
import { sessionHandle } from './handle';
import type { Cart, LiveSession, StoredSession } from './types';

const iso = (ms: number) => new Date(ms).toISOString();

export function cartItems(cart: Cart | undefined): CartItem[] {
  return Object.entries(cart ?? {})
    .map(([productId, quantity]) => ({ productId, quantity }))
    .sort((a, b) => a.productId.localeCompare(b.productId));
}

/** The request's own session as GET /api/session and the login answer it. */
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
    lifetime: s.lifetime ?? 'standard',
    ...recentLogin(lastPasswordCheck(s), config),
    visits: s.visits,
    cart: { items: cartItems(s.cart) },
    createdBy: s.createdBy,
    servedBy: config.instanceId,
    // A session created by an earlier version keeps the token it stored: instances of that version, still
    // running during a rolling deploy, check that one.
    csrfToken: s.csrfToken ?? csrfToken(req.sessionID, config.session.secrets),
  };
}

/** When the password was last checked, and until when that counts as recent (SESSION_REAUTH_WINDOW_S). */
export function recentLogin(at: number, config: Readonly<Config>): { authenticatedAt: string; recentLoginUntil: string } {
  return { authenticatedAt: iso(at), recentLoginUntil: iso(at + config.session.reauthWindowMs) };
}

/** One of the user's sessions as GET /api/sessions lists it; `currentSid` is the listing request's own. */
export function deviceSessionView(s: StoredSession, currentSid: string): DeviceSession {
  return {
    handle: sessionHandle(s.sid),
    current: s.sid === currentSid,
    createdAt: iso(s.createdAt),
    lastSeenAt: iso(s.lastSeenAt),
    idleExpiresAt: iso(s.expiresAt),
    userAgent: s.userAgent,
    ip: s.ip,
    createdBy: s.createdBy,
  };
}
