import { parse } from 'cookie';
import { sign, unsign } from 'cookie-signature';
import type { ErrorRequestHandler, Request, Response } from 'express';
import { z } from 'zod';
import type { Config } from '../config';
import type { DegradedSessionView } from '../http-contract';
import { isStoreUnavailableError } from '../redis';
import { userById } from '../users';
import { cookieOptions, presentedSessionId, snapshotCookieName } from './cookie';
import { sessionHandle } from './handle';
import type { LiveSession, SessionDeps } from './types';

/*
 * REDIS_DOWN_POLICY=read-only: a logged-in response also carries a small signed cookie, the session's
 * snapshot, and while the store cannot be reached GET /api/session answers from it (docs/security.md, "Reading
 * while Redis is down"). It never holds the session id (the session cookie does, and both must come together),
 * it is signed with the session secrets (cookie-signature, as the session cookie is), and it is refused after
 * its expiry: at most SESSION_SNAPSHOT_TTL_S after it was issued, never past the session's own expiry. Nothing
 * in it is ever written to the store.
 */

/** What the cookie holds, in short names (it rides on every request): times in epoch ms. */
const snapshotSchema = z.strictObject({
  /** user id */
  u: z.string().min(1).max(64),
  /** the session's handle (handle.ts): binds the snapshot to the session cookie it came with */
  h: z.string().length(22),
  /** lifetime class */
  l: z.enum(['standard', 'remembered']),
  /** created at */
  c: z.number().int(),
  /** idle expiry when issued */
  i: z.number().int(),
  /** absolute expiry */
  a: z.number().int(),
  /** created by (instance) */
  b: z.string().max(64),
  /** the snapshot's own expiry */
  x: z.number().int(),
});

export type SessionSnapshot = z.infer<typeof snapshotSchema>;

/** The cookie's value: base64url of the JSON, signed (`<payload>.<HMAC-SHA256>`). */
export function encodeSnapshot(snapshot: SessionSnapshot, secret: string): string {
  return sign(Buffer.from(JSON.stringify(snapshot)).toString('base64url'), secret);
}

/** The snapshot a cookie value holds, if its signature verifies with one of the secrets and it is well formed. */
export function decodeSnapshot(value: string, secrets: readonly string[]): SessionSnapshot | null {
  for (const secret of secrets) {
    const payload = unsign(value, secret);
    if (payload === false) continue;
    try {
      const parsed = snapshotSchema.safeParse(JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')));
      return parsed.success ? parsed.data : null;
    } catch {
      return null;
    }
  }
  return null;
}

/** The snapshot a live session gets now: expires after the TTL, or with the session if that is sooner. */
export function snapshotOf(live: LiveSession, sid: string, idleExpiresAt: number, now: number, ttlMs: number): SessionSnapshot {
  return {
    u: live.userId,
    h: sessionHandle(sid),
    l: live.lifetime ?? 'standard',
    c: live.createdAt,
    i: idleExpiresAt,
    a: live.absoluteExpiresAt,
    b: live.createdBy,
    x: Math.min(now + ttlMs, idleExpiresAt, live.absoluteExpiresAt),
  };
}

function presentedSnapshotValue(req: Request, config: Readonly<Config>): string | undefined {
  const header = req.headers.cookie;
  return header ? parse(header)[snapshotCookieName(config)] : undefined;
}

/**
 * After a logged-in request: issues the snapshot again when the one presented is missing, belongs to another
 * session, says another idle expiry, or has less than half its lifetime left. So a client that keeps using its
 * session carries a snapshot at least TTL/2 from its end, and most responses carry no Set-Cookie for it. The
 * presented one is decoded, not verified, to decide: a forged one only stops its own holder's refresh.
 */
export function refreshSnapshot(config: Readonly<Config>, req: Request, res: Response, live: LiveSession, idleExpiresAt: number, now = Date.now()): void {
  const { redisDown } = config.session;
  if (redisDown.policy !== 'read-only') return;
  const fresh = snapshotOf(live, req.sessionID, idleExpiresAt, now, redisDown.snapshotTtlMs);
  const presented = peek(presentedSnapshotValue(req, config));
  const halfLife = Math.min(redisDown.snapshotTtlMs, fresh.x - now) / 2;
  if (presented && presented.h === fresh.h && presented.i === fresh.i && presented.x - now >= halfLife) return;
  res.cookie(snapshotCookieName(config), encodeSnapshot(fresh, config.session.secrets[0]!), { ...cookieOptions(config, req), expires: new Date(fresh.x) });
}

/** The payload of a snapshot cookie without checking its signature: only to decide whether to issue a new one. */
function peek(value: string | undefined): { h: string; i: number; x: number } | null {
  const payload = value?.slice(0, value.lastIndexOf('.'));
  if (!payload) return null;
  try {
    const parsed = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Partial<SessionSnapshot>;
    return typeof parsed.h === 'string' && typeof parsed.i === 'number' && typeof parsed.x === 'number' ? { h: parsed.h, i: parsed.i, x: parsed.x } : null;
  } catch {
    return null;
  }
}

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * The error handler of the API router, with REDIS_DOWN_POLICY=read-only: a GET /api/session that failed
 * because the store cannot be reached is answered from the snapshot, when the request carries a valid one for
 * the session its cookie names. Anything else goes on to the usual 503.
 */
export function degradedSessionRead({ config, store, metrics }: SessionDeps): ErrorRequestHandler {
  const { cookieName, secrets, redisDown } = config.session;
  const ttlS = redisDown.policy === 'read-only' ? redisDown.snapshotTtlMs / 1000 : 0;
  const message = `read-only: the session store is down; this is the session as it was up to ${ttlS} s ago, and every change is refused until the store is back`;
  return (err, req, res, next) => {
    if (req.method !== 'GET' || req.path !== '/session' || !(isStoreUnavailableError(err) || !store.isReady())) {
      next(err);
      return;
    }
    const now = Date.now();
    const sid = presentedSessionId(req, cookieName, secrets);
    const value = presentedSnapshotValue(req, config);
    const snapshot = sid && value ? decodeSnapshot(value, secrets) : null;
    const user = snapshot && userById(snapshot.u);
    if (!sid || !snapshot || !user || snapshot.h !== sessionHandle(sid) || now >= snapshot.x) {
      metrics.degradedReads.inc({ outcome: 'refused' });
      next(err);
      return;
    }
    metrics.degradedReads.inc({ outcome: 'served' });
    req.log?.warn({ err: err instanceof Error ? err.message : String(err) }, 'session read answered from its snapshot: the store cannot be reached');
    const view: DegradedSessionView = {
      degraded: true,
      handle: snapshot.h,
      user,
      lifetime: snapshot.l,
      createdAt: iso(snapshot.c),
      idleExpiresAt: iso(snapshot.i),
      absoluteExpiresAt: iso(snapshot.a),
      createdBy: snapshot.b,
      servedBy: config.instanceId,
      snapshotExpiresAt: iso(snapshot.x),
      message,
    };
    res.json(view);
  };
}
