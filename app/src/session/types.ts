import type { Session, SessionData, Store } from 'express-session';
import type { Config } from '../config';
import type { StoreMode } from '../http-contract';
import type { Metrics } from '../metrics';
import type { ActivityEntry } from './activity';
import type { RawStats } from './stats';

/** productId → quantity. A map, not a list, so an add is one atomic field update. */
export type Cart = Record<string, number>;

declare module 'express-session' {
  interface SessionData {
    /** The user's id; their name and display name come from users.ts when shown. */
    userId: string;
    /** Only in sessions created before the token was derived from the session id (csrf.ts). */
    csrfToken?: string;
    /** Epoch milliseconds. */
    createdAt: number;
    lastSeenAt: number;
    absoluteExpiresAt: number;
    /** When the password was last checked by POST /api/reauth; absent until then: the login's, createdAt. */
    authenticatedAt?: number;
    /** Set only for a login with `remember: true`; absent: standard (so a standard blob stays as it was). */
    lifetime?: 'remembered';
    visits: number;
    cart: Cart;
    createdBy: string;
    userAgent: string;
    ip: string;
  }
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

/** Why a session ended before its cookie did; kept as a marker so a replayed cookie gets an accurate 401. */
export type EndReason = 'revoked' | 'logged_out' | 'expired';

/** A session as another request of the same user sees it (listing, revoking). */
export interface StoredSession {
  sid: string;
  userId: string;
  createdAt: number;
  lastSeenAt: number;
  /** When the idle window closes: the cookie's expiry, and the Redis key's. */
  expiresAt: number;
  userAgent: string;
  ip: string;
  createdBy: string;
}

export type CartUpdate =
  | { status: 'ok'; cart: Cart }
  | { status: 'missing' }
  | { status: 'too_large'; bytes: number };

/**
 * What the app needs from a session store beyond express-session's get/set/destroy.
 * Every mutation of a live session goes through one of these atomic operations, never through
 * express-session's whole-blob save, so parallel requests on one session cannot lose each other's updates.
 */
export interface SessionStore extends Store {
  readonly mode: StoreMode;
  /** Connected, as far as the client knows (no round trip): the fast check of an error path. */
  isReady(): boolean;
  /**
   * Reachable now: a round trip within the command timeout. The readiness probe's check — a connection can
   * look up while nothing comes back through it (a network partition drops packets; no RST closes it).
   */
  checkReachable(): Promise<boolean>;
  // Each change takes the activity entry (activity.ts) that records it: written with it, atomically, or not at all.
  incrementVisits(sid: string, entry: ActivityEntry): Promise<number | null>;
  addToCart(sid: string, productId: string, quantity: number, maxBytes: number, entry: ActivityEntry): Promise<CartUpdate>;
  removeFromCart(sid: string, productId: string, entry: ActivityEntry): Promise<CartUpdate>;
  /** Records a fresh password check on a live session (POST /api/reauth); false when it is gone. */
  reauthenticate(sid: string, at: number, entry: ActivityEntry): Promise<boolean>;
  /** Moves the idle expiry of a live session (cookie data and store TTL alike); false when it is gone. */
  extend(sid: string, userId: string, expiresAt: number, lastSeenAt: number, entry: ActivityEntry): Promise<boolean>;
  /** Adds a freshly saved session to its user's index; `entry` is its login. */
  register(userId: string, sid: string, expiresAt: number, entry: ActivityEntry): Promise<void>;
  /** The user's live sessions; index entries whose session is gone are pruned on the way. */
  listForUser(userId: string): Promise<StoredSession[]>;
  /** Deletes a session, drops it from the index and leaves a marker saying why, until `until`. */
  end(userId: string, sid: string, reason: EndReason, until: number, entry: ActivityEntry): Promise<void>;
  /**
   * A session's activity log by its handle, among the user's sessions (live, or ended within the retention),
   * newest first, with when the session's key expires (null: it has no expiry); null when the user has no
   * session with that handle.
   */
  activity(userId: string, handle: string): Promise<{ entries: ActivityEntry[]; sessionExpiresAt: number | null } | null>;
  endReason(sid: string): Promise<EndReason | null>;
  /** The sessions' figures (stats.ts): the whole cluster's in a shared store, this process's in memory. */
  stats(): Promise<RawStats>;
  countLive(userIds: readonly string[]): Promise<number>;
  close(): Promise<void>;
}

/** What the session guards, the lifecycle and the routes work with. */
export interface SessionDeps {
  config: Readonly<Config>;
  store: SessionStore;
  metrics: Metrics;
}
