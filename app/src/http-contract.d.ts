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

/** One second of an instance's own traffic (health checks and /metrics left out), counted in process. */
export interface InstanceFigures {
  /** The second these figures cover (its start). */
  second: string;
  requests: number;
  /** Answers with a 5xx status. */
  errors: number;
  /** The upper bound of the latency bucket holding the 95th percentile (ms); null without requests. */
  p95Ms: number | null;
}

/** The Redis an instance's client is using, as the instance itself sees it. */
export interface RedisLink {
  mode: 'standalone' | 'sentinel' | 'cluster';
  /** The primary the client is connected to (a Redis Cluster: every shard's primary), host:port. */
  primaries: string[];
  /** The role of the node it is connected to; null until known. */
  role: 'primary' | 'replica' | null;
  reachable: boolean;
}

/** `gone`: it said it stopped, or no heartbeat came for 2.5 s. */
export type InstanceState = 'up' | 'draining' | 'gone';

/** An instance as the live view shows it, from its heartbeat (or, for the answering instance, from itself). */
export interface LiveInstance {
  id: string;
  state: InstanceState;
  lastSeen: string;
  startedAt: string | null;
  ready: boolean;
  draining: boolean;
  /** Its last complete second; null once gone. */
  figures: InstanceFigures | null;
  /** null in the sticky variant (no Redis). */
  redis: RedisLink | null;
}

/** One instance's figures, a second each, oldest first, starting at `from`. */
export interface FigureHistory {
  from: string;
  requests: number[];
  errors: number[];
  p95Ms: (number | null)[];
}

export interface LiveInstancesView {
  observedBy: string;
  store: StoreMode;
  /** false in the sticky variant: there is no shared store, so an instance can show only itself. */
  shared: boolean;
  /** true when Redis could not be read just now: the other instances are as last read. */
  stale: boolean;
  now: string;
  /** Every instance seen in the last minute, by id. */
  instances: LiveInstance[];
  /** The answering instance's own last 120 s. */
  history: FigureHistory;
}

export type ClusterEventType = 'up' | 'gone' | 'draining' | 'primary-changed' | 'redis-outage';

/** What happened to the cluster, newest first. `instance`: the one it happened to, or (primary-changed) that saw it. */
export interface ClusterEvent {
  at: string;
  type: ClusterEventType;
  instance: string;
  /** gone: it said it stopped, or it went silent. */
  reason?: 'stopped' | 'silent';
  lastSeen?: string;
  /** primary-changed: the primaries before and after, host:port, comma-separated. */
  from?: string;
  to?: string;
  /** redis-outage: when this instance lost Redis and got it back. */
  since?: string;
  until?: string;
}

export interface ClusterEventsView {
  observedBy: string;
  shared: boolean;
  stale: boolean;
  events: ClusterEvent[];
}

export interface ApiError {
  error: string;
  message: string;
}
