import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import type { Request, Response } from 'express';
import type { SessionData } from 'express-session';
import type { PublicUser } from '../http-contract';
import { activityOf, endOf, type RevokedBy } from './activity';
import { clearSessionCookie } from './cookie';
import { absoluteExpiry, idleExpiry, timeoutsFor } from './expiry';
import { newSessionId, type SessionKeys } from './keys';
import { enforcePolicy } from './policy';
import type { EndReason, LiveSession, SessionDeps, StoredSession } from './types';

/** Forgets the request's session so express-session neither saves nor touches it at the end. */
export function detachSession(req: Request): void {
  (req as { session?: unknown }).session = undefined;
}

/** Whose session a request's login is about to make: read by sessionIdFor when express-session asks for an id. */
const loggingIn = new WeakMap<Request, string>();

/**
 * express-session's `genid`: a login's new session id carries the user's tag (keys.ts). express-session
 * also makes an id for every request without a session; those are never saved, and get a random tag.
 */
export function sessionIdFor(keys: SessionKeys): (req: Request) => string {
  return (req) => {
    const userId = loggingIn.get(req);
    return newSessionId(userId === undefined ? randomBytes(12).toString('base64url') : keys.userTag(userId));
  };
}

/**
 * Starts a session for a user who just proved who they are: a new id (no fixation), fresh timers,
 * saved before the response so a store failure is a clean 5xx, then the per-user policy.
 */
export async function startSession(deps: SessionDeps, req: Request, user: PublicUser, remember = false): Promise<LiveSession> {
  try {
    return await openSession(deps, req, user, remember);
  } catch (err) {
    // A login that fails leaves no session: express-session would otherwise save the regenerated session
    // once more as the error's response ends, after its status is sent, and send that session's cookie.
    detachSession(req);
    throw err;
  }
}

async function openSession({ config, store, metrics }: SessionDeps, req: Request, user: PublicUser, remember: boolean): Promise<LiveSession> {
  const previous = req.session as Partial<LiveSession>;
  if (previous.userId) {
    await store.end(previous.userId, req.sessionID, 'logged_out', previous.absoluteExpiresAt ?? 0, endOf(req, config, 'logged_out'));
    metrics.sessionsEnded.inc({ reason: 'logged_out' });
  }
  loggingIn.set(req, user.id);
  await promisify(req.session.regenerate.bind(req.session))();
  const now = Date.now();
  const timeouts = timeoutsFor(config.session, remember ? 'remembered' : undefined);
  const absoluteExpiresAt = absoluteExpiry(timeouts, now);
  const idleExpiresAt = idleExpiry(timeouts, now, absoluteExpiresAt);
  const s = req.session as LiveSession;
  Object.assign(s, {
    userId: user.id,
    createdAt: now,
    lastSeenAt: now,
    // No authenticatedAt: the login's password check is createdAt (lastPasswordCheck), 21 bytes less per blob.
    absoluteExpiresAt,
    visits: 0,
    cart: {},
    createdBy: config.instanceId,
    userAgent: (req.get('user-agent') ?? '').slice(0, 200),
    ip: req.ip ?? '',
    ...(remember ? { lifetime: 'remembered' as const } : {}),
  } satisfies Partial<SessionData>);
  s.cookie.expires = new Date(idleExpiresAt);
  await promisify(s.save.bind(s))();
  // express-session saves a regenerated session again when the response ends; it is saved already.
  Object.defineProperty(s, 'save', { value: (cb?: () => void) => cb?.(), configurable: true });
  await store.register(user.id, req.sessionID, idleExpiresAt, activityOf(req, config, 'login', { lifetime: s.lifetime ?? 'standard', absoluteExpiresAt }));
  metrics.sessionsCreated.inc();
  const revoked = await enforcePolicy(store, config.session.policy, user.id, activityOf(req, config, 'revoke', { revokedBy: 'policy' }));
  if (revoked > 0) metrics.sessionsEnded.inc({ reason: 'revoked' }, revoked);
  return s;
}

/** Ends the request's own session everywhere (logout, or revoking one's own handle, or an admin their own sessions). */
export async function endCurrentSession({ config, store, metrics }: SessionDeps, req: Request, res: Response, reason: EndReason, by?: RevokedBy): Promise<void> {
  const s = req.session as LiveSession;
  // The marker lasts as long as the cookie could: never past the absolute expiry.
  await store.end(s.userId, req.sessionID, reason, s.absoluteExpiresAt, endOf(req, config, reason, by));
  metrics.sessionsEnded.inc({ reason });
  detachSession(req);
  clearSessionCookie(config, req, res);
}

/**
 * Ends sessions of a user other than the request's own, from any instance: each gets 401 session_revoked next,
 * and its log says who revoked it.
 */
export async function revokeSessions({ config, store, metrics }: SessionDeps, req: Request, userId: string, sessions: readonly StoredSession[], by: RevokedBy): Promise<void> {
  const entry = endOf(req, config, 'revoked', by);
  await Promise.all(sessions.map((s) => store.end(userId, s.sid, 'revoked', s.expiresAt, entry)));
  if (sessions.length > 0) metrics.sessionsEnded.inc({ reason: 'revoked' }, sessions.length);
}
