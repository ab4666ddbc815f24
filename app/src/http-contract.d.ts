/**
 * The JSON the HTTP API answers (docs/http-contract.md has the routes, statuses and error codes): one
 * definition for the server (app/src) and the dashboard (app/web). Types only, so the browser build takes it
 * without emitting it.
 */

/** A user as the API shows them: who is logged in, never their password hash. */
export interface PublicUser {
  id: string;
  username: string;
  displayName: string;
}

export interface CartItem {
  productId: string;
  quantity: number;
}

export interface SessionView {
  handle: string;
  user: PublicUser;
  createdAt: string;
  lastSeenAt: string;
  idleExpiresAt: string;
  absoluteExpiresAt: string;
  visits: number;
  cart: { items: CartItem[] };
  createdBy: string;
  servedBy: string;
  csrfToken: string;
}

export interface LoginResult {
  user: PublicUser;
  session: SessionView;
  csrfToken: string;
}

export interface DeviceSession {
  handle: string;
  current: boolean;
  createdAt: string;
  lastSeenAt: string;
  idleExpiresAt: string;
  userAgent: string;
  ip: string;
  createdBy: string;
}

/** Where an instance keeps its sessions: Redis (shared by every instance) or its own memory (the sticky variant). */
export type StoreMode = 'redis' | 'memory';

export interface Replica {
  address: string;
  state: string;
  offset: number;
  lag: number;
}

export interface ClusterView {
  instance: string;
  store: StoreMode;
  redis: {
    mode: 'sentinel' | 'standalone';
    connectedTo: string | null;
    role: 'primary' | 'replica';
    replicationOffset: number;
    replicas: Replica[];
    aof: { enabled: boolean; lastWrite: string | null };
  } | null;
  sentinel: { primary: string | null; answeredBy: string | null } | null;
  /** Set in Redis Cluster mode (`redis` and `sentinel` are null then). */
  redisCluster: RedisClusterView | null;
  sessions: number;
}

/** A Redis Cluster as one of its nodes describes it (CLUSTER INFO, CLUSTER SHARDS). */
export interface RedisClusterView {
  /** `ok`, or `fail` while some slot has no reachable primary. */
  state: string;
  shards: ClusterShard[];
  /** The slot of the request's own session, and the primary holding it; null without a session. */
  thisSession: { slot: number; primary: string | null } | null;
}

export interface ClusterShard {
  primary: string | null;
  replicas: { address: string; health: string; offset: number }[];
  /** Inclusive ranges: [[0, 5460]]. */
  slots: [number, number][];
}

export interface ApiError {
  error: string;
  message: string;
}
