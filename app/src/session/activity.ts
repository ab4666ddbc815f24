import type { Request } from 'express';
import type { Config } from '../config';
import type { ActivityAction, ActivityEvent } from '../http-contract';
import type { EndReason } from './types';

/*
 * A session's activity log (docs/architecture.md, "The activity log"): one entry per state change, written by
 * the store in the same atomic step as the change itself (the same Lua script, or the same MULTI), newest
 * first, the last ACTIVITY_ENTRIES kept, for ACTIVITY_RETENTION_MS after the session ends. Reads write nothing.
 */
export const ACTIVITY_ENTRIES = 100;
export const ACTIVITY_RETENTION_MS = 24 * 3600 * 1000;
/** A user agent is kept to this length in each entry (the session keeps its login's to 200). */
const USER_AGENT_CHARS = 120;

/** One entry as the store keeps it: short names, epoch ms. `d` holds what the action adds (revokedBy, productId…). */
export interface ActivityEntry {
  a: ActivityAction;
  t: number;
  s: string;
  ip: string;
  ua: string;
  d?: Record<string, string | number>;
}

/** The entry for a change the request makes, stamped with its time, instance, client address and user agent. */
export function activityOf(req: Request, config: Readonly<Config>, action: ActivityAction, detail?: Record<string, string | number>): ActivityEntry {
  return {
    a: action,
    t: Date.now(),
    s: config.instanceId,
    ip: req.ip ?? '',
    ua: (req.get('user-agent') ?? '').slice(0, USER_AGENT_CHARS),
    ...(detail ? { d: detail } : {}),
  };
}

/** Who ended a session by revoking it (the `revokedBy` of its log's revoke entry). */
export type RevokedBy = { revokedBy: 'self' } | { revokedBy: 'device'; handle: string } | { revokedBy: 'admin'; admin: string } | { revokedBy: 'policy' };

/** The entry for a session's end: a logout, a revocation (by whom), or its absolute lifetime found spent. */
export function endOf(req: Request, config: Readonly<Config>, reason: EndReason, by: RevokedBy = { revokedBy: 'self' }): ActivityEntry {
  if (reason === 'logged_out') return activityOf(req, config, 'logout');
  if (reason === 'expired') return activityOf(req, config, 'expire', { reason: 'absolute' });
  return activityOf(req, config, 'revoke', by);
}

const ENDING: ReadonlySet<ActivityAction> = new Set(['logout', 'revoke', 'expire']);

/**
 * The log as GET /api/sessions/:handle/activity answers it, newest first. A session whose key simply expired
 * in the store (nobody came back within its idle window, or before its absolute lifetime ran out) wrote no
 * entry for its end: `sessionExpiresAt`, when the session's key expires (the store knows it from the log's own
 * expiry), adds that end once it has passed.
 */
export function activityEvents(entries: readonly ActivityEntry[], sessionExpiresAt: number | null, now = Date.now()): ActivityEvent[] {
  const events = entries.map(toEvent);
  const ended = entries.length > 0 && ENDING.has(entries[0]!.a);
  if (!ended && sessionExpiresAt !== null && sessionExpiresAt <= now) {
    const login = entries.find((e) => e.a === 'login');
    const absolute = Number(login?.d?.absoluteExpiresAt ?? Number.POSITIVE_INFINITY);
    events.unshift({ action: 'expire', at: new Date(sessionExpiresAt).toISOString(), servedBy: null, ip: null, userAgent: null, reason: sessionExpiresAt >= absolute ? 'absolute' : 'idle' });
  }
  return events;
}

function toEvent(entry: ActivityEntry): ActivityEvent {
  // Times in an entry's detail are epoch ms, like its own; the API gives every time as ISO text.
  const detail = Object.entries(entry.d ?? {}).map(([name, value]) => [name, name.endsWith('ExpiresAt') ? new Date(Number(value)).toISOString() : value]);
  return { ...Object.fromEntries(detail), action: entry.a, at: new Date(entry.t).toISOString(), servedBy: entry.s, ip: entry.ip, userAgent: entry.ua };
}
