import type { StatsView } from '../http-contract';
import type { ActivityEntry } from './activity';

/*
 * Cluster-wide session statistics (GET /api/stats, docs/architecture.md "Statistics"), kept by the writes
 * themselves: a login opens a session in the figures, an extension moves its expiry, an end closes it with
 * its reason. A session that simply expires is closed by the next sweep, which every update and every read
 * runs first, at the expiry the figures hold for it: no key is ever scanned. The Redis store keeps them in keys
 * of one hash tag of their own (keys.ts statsKeys), the memory store in the process.
 */

/** Why a session left the figures. */
export type StatsEndReason = 'logout' | 'revoked' | 'policy' | 'idle_expiry' | 'absolute_expiry';
export const STATS_END_REASONS: readonly StatsEndReason[] = ['logout', 'revoked', 'policy', 'idle_expiry', 'absolute_expiry'];

/** How long ended sessions' durations and logins are kept for the figures over time. */
export const STATS_WINDOW_MS = 3600_000;
export const LOGIN_RATE_WINDOW_MS = 60_000;

/** A session as the figures hold it. */
export interface StatsSession {
  userId: string;
  createdAt: number;
  absoluteExpiresAt: number;
}

/** What a store's figures hold at one moment, before they are summed up for the answer. */
export interface RawStats {
  activeSessions: number;
  activeUsers: number;
  createdByInstance: Record<string, number>;
  endedByReason: Partial<Record<StatsEndReason, number>>;
  /** Durations (ms) of the sessions that ended within STATS_WINDOW_MS. */
  recentDurationsMs: number[];
  loginsLastMinute: number;
}

/** The reason a session's end counts under, from the activity entry that recorded it. */
export function statsReasonOf(entry: ActivityEntry): StatsEndReason {
  if (entry.a === 'logout') return 'logout';
  if (entry.a === 'expire') return 'absolute_expiry';
  return entry.d?.revokedBy === 'policy' ? 'policy' : 'revoked';
}

/** An expiry the sweep finds: the absolute lifetime when the key expired at it, else the idle window. */
export function expiryReason(expiredAt: number, absoluteExpiresAt: number): StatsEndReason {
  return expiredAt >= absoluteExpiresAt ? 'absolute_expiry' : 'idle_expiry';
}

/** The nearest-rank percentile of durations (ms), in seconds. */
function percentileS(sorted: readonly number[], p: number): number {
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]! / 1000;
}

export function summarizeStats(raw: RawStats, shared: boolean, servedBy: string): StatsView {
  const durations = [...raw.recentDurationsMs].sort((a, b) => a - b);
  return {
    shared,
    servedBy,
    activeSessions: raw.activeSessions,
    activeUsers: raw.activeUsers,
    createdByInstance: raw.createdByInstance,
    endedByReason: Object.fromEntries(STATS_END_REASONS.map((reason) => [reason, raw.endedByReason[reason] ?? 0])) as StatsView['endedByReason'],
    endedLastHour: {
      sessions: durations.length,
      averageDurationS: durations.length ? durations.reduce((sum, d) => sum + d, 0) / durations.length / 1000 : null,
      p95DurationS: durations.length ? percentileS(durations, 95) : null,
    },
    loginsLastMinute: raw.loginsLastMinute,
  };
}

/**
 * The memory store's figures: this process's sessions only (the sticky variant has no shared store). The same
 * bookkeeping as the Redis store's script, in JavaScript, which runs each call to completion.
 */
export class MemoryStats {
  private readonly live = new Map<string, StatsSession & { expiresAt: number }>();
  private readonly users = new Map<string, number>();
  private readonly created = new Map<string, number>();
  private readonly ended = new Map<StatsEndReason, number>();
  private durations: { at: number; ms: number }[] = [];
  private logins: number[] = [];

  open(handle: string, session: StatsSession, expiresAt: number, instance: string, now = Date.now()): void {
    this.sweep(now);
    if (!this.live.has(handle)) this.users.set(session.userId, (this.users.get(session.userId) ?? 0) + 1);
    this.live.set(handle, { ...session, expiresAt });
    this.created.set(instance, (this.created.get(instance) ?? 0) + 1);
    this.logins.push(now);
  }

  extend(handle: string, expiresAt: number): void {
    const session = this.live.get(handle);
    if (session) session.expiresAt = expiresAt;
  }

  close(handle: string, reason: StatsEndReason, now = Date.now()): void {
    this.sweep(now);
    this.end(handle, reason, now);
  }

  read(now = Date.now()): RawStats {
    this.sweep(now);
    return {
      activeSessions: this.live.size,
      activeUsers: this.users.size,
      createdByInstance: Object.fromEntries(this.created),
      endedByReason: Object.fromEntries(this.ended),
      recentDurationsMs: this.durations.map((d) => d.ms),
      loginsLastMinute: this.logins.filter((at) => at > now - LOGIN_RATE_WINDOW_MS).length,
    };
  }

  private end(handle: string, reason: StatsEndReason, at: number): void {
    const session = this.live.get(handle);
    if (!session) return;
    this.live.delete(handle);
    const left = (this.users.get(session.userId) ?? 1) - 1;
    if (left > 0) this.users.set(session.userId, left);
    else this.users.delete(session.userId);
    this.ended.set(reason, (this.ended.get(reason) ?? 0) + 1);
    this.durations.push({ at, ms: at - session.createdAt });
  }

  private sweep(now: number): void {
    for (const [handle, session] of this.live) {
      if (session.expiresAt <= now) this.end(handle, expiryReason(session.expiresAt, session.absoluteExpiresAt), session.expiresAt);
    }
    this.durations = this.durations.filter((d) => d.at > now - STATS_WINDOW_MS);
    this.logins = this.logins.filter((at) => at > now - STATS_WINDOW_MS);
  }
}
