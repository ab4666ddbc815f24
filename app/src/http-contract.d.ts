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
  /** `admin` may list and end any user's sessions (/api/admin/…). */
  role: UserRole;
}

export type UserRole = 'user' | 'admin';

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
  lifetime: LifetimeClass;
  /** The last password check: the login, or POST /api/reauth since. */
  authenticatedAt: string;
  /** Until then the sensitive routes accept this session; after it they answer 401 reauth_required. */
  recentLoginUntil: string;
  visits: number;
  cart: { items: CartItem[] };
  createdBy: string;
  servedBy: string;
  csrfToken: string;
}

/**
 * A session's lifetime class: `standard` (SESSION_IDLE_TIMEOUT_S / SESSION_ABSOLUTE_TIMEOUT_S), or `remembered`,
 * a login with `remember: true` (SESSION_REMEMBER_IDLE_TIMEOUT_S / SESSION_REMEMBER_ABSOLUTE_TIMEOUT_S).
 */
export type LifetimeClass = 'standard' | 'remembered';

/**
 * GET /api/session while the session store cannot be reached, with REDIS_DOWN_POLICY=read-only: what the
 * session's signed snapshot cookie held, at most SESSION_SNAPSHOT_TTL_S old. Read-only: every write answers
 * 503 redis_unavailable meanwhile. Visits and cart are not in the snapshot.
 */
export interface DegradedSessionView {
  degraded: true;
  handle: string;
  user: PublicUser;
  lifetime: LifetimeClass;
  createdAt: string;
  /** The idle expiry when the snapshot was issued: an outage does not extend it. */
  idleExpiresAt: string;
  absoluteExpiresAt: string;
  createdBy: string;
  servedBy: string;
  /** After this the snapshot is refused: log in again once the store is back. */
  snapshotExpiresAt: string;
  message: string;
}

export interface LoginResult {
  user: PublicUser;
  session: SessionView;
  csrfToken: string;
}

/** POST /api/reauth: the password was checked again; the session id stays. */
export interface ReauthResult {
  authenticatedAt: string;
  recentLoginUntil: string;
}

/** GET /api/admin/users/:userId/sessions. */
export interface AdminUserSessions {
  user: PublicUser;
  sessions: DeviceSession[];
}

/** DELETE /api/admin/users/:userId/sessions: how many sessions it ended. */
export interface AdminEndedSessions {
  user: PublicUser;
  ended: number;
}

/** What a session's activity log records: every state change; reads are not logged. */
export type ActivityAction = 'login' | 'visit' | 'cart_add' | 'cart_remove' | 'extend' | 'reauth' | 'logout' | 'revoke' | 'expire';

/**
 * One entry of GET /api/sessions/:handle/activity. `servedBy`, `ip` and `userAgent` are the request's that made
 * the change; null only for an expiry nobody's request saw (the store's TTL ran out). What an action adds:
 * login `lifetime`, `absoluteExpiresAt`; cart_add / cart_remove `productId` (and `quantity`); extend
 * `idleExpiresAt`; revoke `revokedBy` (`self`, `device`, `admin`, `policy`) and, for an admin, `admin`;
 * expire `reason` (`idle`, `absolute`).
 */
export interface ActivityEvent {
  action: ActivityAction;
  at: string;
  servedBy: string | null;
  ip: string | null;
  userAgent: string | null;
  [detail: string]: string | number | null;
}

export interface ActivityView {
  handle: string;
  current: boolean;
  /** Newest first, at most 100. */
  events: ActivityEvent[];
}

/**
 * GET /api/stats: the sessions of the whole cluster (every instance's, from the shared store), or, in the
 * sticky variant (`shared: false`), of the answering instance alone.
 */
export interface StatsView {
  shared: boolean;
  servedBy: string;
  activeSessions: number;
  activeUsers: number;
  /** Sessions each instance started (logins), since the store's figures began. */
  createdByInstance: Record<string, number>;
  endedByReason: { logout: number; revoked: number; policy: number; idle_expiry: number; absolute_expiry: number };
  /** Sessions that ended in the last hour: how many, and how long they had lived. */
  endedLastHour: { sessions: number; averageDurationS: number | null; p95DurationS: number | null };
  loginsLastMinute: number;
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
