import { Store, type SessionData } from 'express-session';
import { ACTIVITY_ENTRIES, ACTIVITY_RETENTION_MS, type ActivityEntry } from './activity';
import { storeExpiry } from './expiry';
import { sessionHandle } from './handle';
import { MemoryStats, statsReasonOf, type RawStats } from './stats';
import type { Cart, CartUpdate, EndReason, SessionStore, StoredSession } from './types';

interface Entry {
  json: string;
  expiresAt: number;
}

/**
 * The sticky variant's store: sessions live in this process only, so they die with it.
 * Same contract as the Redis store; JavaScript runs each operation to completion, which makes
 * every read-modify-write here atomic without locks.
 */
export class MemorySessionStore extends Store implements SessionStore {
  readonly mode = 'memory' as const;
  private readonly sessions = new Map<string, Entry>();
  private readonly byUser = new Map<string, Set<string>>();
  private readonly ended = new Map<string, { reason: EndReason; until: number }>();
  /** Activity logs by user and handle, each kept until ACTIVITY_RETENTION_MS after its session's expiry or end. */
  private readonly logs = new Map<string, { userId: string; entries: ActivityEntry[]; sessionExpiresAt: number; until: number }>();
  private readonly sweeper: NodeJS.Timeout;
  private readonly figures = new MemoryStats();

  constructor(sweepIntervalMs = 60_000) {
    super();
    this.sweeper = setInterval(() => this.sweep(), sweepIntervalMs);
    this.sweeper.unref();
  }

  isReady(): boolean {
    return true;
  }

  async checkReachable(): Promise<boolean> {
    return true;
  }

  private live(sid: string): SessionData | null {
    const entry = this.sessions.get(sid);
    if (!entry) return null;
    if (entry.expiresAt <= Date.now()) {
      this.sessions.delete(sid);
      return null;
    }
    return JSON.parse(entry.json) as SessionData;
  }

  private write(sid: string, sess: SessionData, expiresAt: number): void {
    this.sessions.set(sid, { json: JSON.stringify(sess), expiresAt });
  }

  /** Adds an entry to the session's log; `sessionExpiresAt`: the session's expiry now (or its end). */
  private log(userId: string, sid: string, entry: ActivityEntry, sessionExpiresAt: number): void {
    const key = `${userId} ${sessionHandle(sid)}`;
    const log = this.logs.get(key) ?? { userId, entries: [], sessionExpiresAt, until: 0 };
    log.entries.unshift(entry);
    log.entries.length = Math.min(log.entries.length, ACTIVITY_ENTRIES);
    log.sessionExpiresAt = sessionExpiresAt;
    log.until = sessionExpiresAt + ACTIVITY_RETENTION_MS;
    this.logs.set(key, log);
  }

  private logBeside(sid: string, sess: SessionData, entry: ActivityEntry): void {
    this.log(sess.userId, sid, entry, this.sessions.get(sid)!.expiresAt);
  }

  override get(sid: string, cb: (err: unknown, session?: SessionData | null) => void): void {
    cb(null, this.live(sid));
  }

  override set(sid: string, sess: SessionData, cb?: (err?: unknown) => void): void {
    const expiresAt = storeExpiry(sess);
    if (expiresAt <= Date.now()) this.sessions.delete(sid);
    else this.write(sid, sess, expiresAt);
    cb?.();
  }

  override destroy(sid: string, cb?: (err?: unknown) => void): void {
    this.sessions.delete(sid);
    cb?.();
  }

  // Sessions are extended by `extend` only, as in the Redis store.
  override touch(_sid: string, _sess: SessionData, cb?: () => void): void {
    cb?.();
  }

  async incrementVisits(sid: string, entry: ActivityEntry): Promise<number | null> {
    const sess = this.live(sid);
    if (!sess) return null;
    sess.visits = (sess.visits ?? 0) + 1;
    this.write(sid, sess, this.sessions.get(sid)!.expiresAt);
    this.logBeside(sid, sess, entry);
    return sess.visits;
  }

  async addToCart(sid: string, productId: string, quantity: number, maxBytes: number, entry: ActivityEntry): Promise<CartUpdate> {
    return this.updateCart(sid, maxBytes, entry, (cart) => {
      cart[productId] = (cart[productId] ?? 0) + quantity;
    });
  }

  async removeFromCart(sid: string, productId: string, entry: ActivityEntry): Promise<CartUpdate> {
    return this.updateCart(sid, Number.MAX_SAFE_INTEGER, entry, (cart) => {
      delete cart[productId];
    });
  }

  private updateCart(sid: string, maxBytes: number, entry: ActivityEntry, change: (cart: Cart) => void): CartUpdate {
    const sess = this.live(sid);
    if (!sess) return { status: 'missing' };
    const cart: Cart = { ...(sess.cart ?? {}) };
    change(cart);
    const json = JSON.stringify({ ...sess, cart });
    const bytes = Buffer.byteLength(json);
    if (bytes > maxBytes) return { status: 'too_large', bytes };
    this.sessions.set(sid, { json, expiresAt: this.sessions.get(sid)!.expiresAt });
    this.logBeside(sid, sess, entry);
    return { status: 'ok', cart };
  }

  async reauthenticate(sid: string, at: number, entry: ActivityEntry): Promise<boolean> {
    const sess = this.live(sid);
    if (!sess) return false;
    sess.authenticatedAt = at;
    this.write(sid, sess, this.sessions.get(sid)!.expiresAt);
    this.logBeside(sid, sess, entry);
    return true;
  }

  async extend(sid: string, userId: string, expiresAt: number, lastSeenAt: number, entry: ActivityEntry): Promise<boolean> {
    const sess = this.live(sid);
    if (!sess) return false;
    sess.lastSeenAt = lastSeenAt;
    sess.cookie.expires = new Date(expiresAt);
    this.write(sid, sess, expiresAt);
    this.log(userId, sid, entry, expiresAt);
    this.figures.extend(sessionHandle(sid), expiresAt);
    return true;
  }

  async register(userId: string, sid: string, expiresAt: number, entry: ActivityEntry): Promise<void> {
    const sids = this.byUser.get(userId) ?? new Set<string>();
    sids.add(sid);
    this.byUser.set(userId, sids);
    this.log(userId, sid, entry, expiresAt);
    const absoluteExpiresAt = Number(entry.d?.absoluteExpiresAt ?? expiresAt);
    this.figures.open(sessionHandle(sid), { userId, createdAt: entry.t, absoluteExpiresAt }, expiresAt, entry.s);
  }

  async stats(): Promise<RawStats> {
    return this.figures.read();
  }

  async listForUser(userId: string): Promise<StoredSession[]> {
    const sids = this.byUser.get(userId);
    if (!sids) return [];
    const live: StoredSession[] = [];
    for (const sid of sids) {
      const sess = this.live(sid);
      if (!sess?.userId) {
        sids.delete(sid);
        continue;
      }
      live.push({
        sid,
        userId,
        createdAt: sess.createdAt,
        lastSeenAt: sess.lastSeenAt,
        expiresAt: this.sessions.get(sid)!.expiresAt,
        userAgent: sess.userAgent,
        ip: sess.ip,
        createdBy: sess.createdBy,
      });
    }
    return live;
  }

  async end(userId: string, sid: string, reason: EndReason, until: number, entry: ActivityEntry): Promise<void> {
    this.sessions.delete(sid);
    this.byUser.get(userId)?.delete(sid);
    if (until > Date.now()) this.ended.set(sid, { reason, until });
    this.log(userId, sid, entry, entry.t);
    this.figures.close(sessionHandle(sid), statsReasonOf(entry));
  }

  async activity(userId: string, handle: string): Promise<{ entries: ActivityEntry[]; sessionExpiresAt: number | null } | null> {
    const log = this.logs.get(`${userId} ${handle}`);
    if (!log || log.until <= Date.now()) return null;
    return { entries: [...log.entries], sessionExpiresAt: log.sessionExpiresAt };
  }

  async endReason(sid: string): Promise<EndReason | null> {
    const marker = this.ended.get(sid);
    return marker && marker.until > Date.now() ? marker.reason : null;
  }

  async countLive(): Promise<number> {
    this.sweep();
    return this.sessions.size;
  }

  /** Drops what has expired, so memory stays bounded by the live sessions. */
  private sweep(): void {
    const now = Date.now();
    for (const [sid, entry] of this.sessions) if (entry.expiresAt <= now) this.sessions.delete(sid);
    for (const [sid, marker] of this.ended) if (marker.until <= now) this.ended.delete(sid);
    for (const [key, log] of this.logs) if (log.until <= now) this.logs.delete(key);
    for (const [userId, sids] of this.byUser) {
      for (const sid of sids) if (!this.sessions.has(sid)) sids.delete(sid);
      if (sids.size === 0) this.byUser.delete(userId);
    }
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
  }
}
