import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { z } from 'zod';
import type { StoreMode } from './http-contract';
import { defaultTouchAfterMs } from './session/expiry';

/** The development-only signing secret used when SESSION_SECRETS is unset. */
export const DEV_SESSION_SECRET = 'dev-only-session-secret-change-me';

export type SessionPolicy = { kind: 'multi' } | { kind: 'single' } | { kind: 'max'; max: number };

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

const list = z
  .string()
  .transform((s) => s.split(',').map((part) => part.trim()).filter((part) => part.length > 0));

const hostPort = z.string().regex(/^[A-Za-z0-9.-]+:\d{1,5}$/, 'expected host:port');

const policy = z
  .string()
  .regex(/^(multi|single|max:[1-9]\d{0,2})$/, 'expected multi, single or max:N (N from 1 to 999)')
  .transform((s): SessionPolicy => {
    if (s === 'multi' || s === 'single') return { kind: s };
    return { kind: 'max', max: Number(s.slice('max:'.length)) };
  });

/** Every environment variable the app reads, with its type and default: the one source of the settings. */
export const envSchema = z.object({
  PORT: int(0, 65535).default(3000),
  HOST: z.string().min(1).default('0.0.0.0'),
  INSTANCE_ID: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'letters, digits, . _ - (1 to 64)').optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  NODE_ENV: z.string().default('development'),

  SESSION_STORE: z.enum(['redis', 'memory']).default('redis'),
  REDIS_URL: z.url({ protocol: /^rediss?$/ }).default('redis://127.0.0.1:6379'),
  REDIS_SENTINELS: list.pipe(z.array(hostPort).min(1)).optional(),
  REDIS_MASTER_NAME: z.string().min(1).default('mymaster'),
  // Redis Cluster (or a managed cluster-mode endpoint): seed nodes; the client learns the rest from them.
  REDIS_CLUSTER_NODES: list.pipe(z.array(hostPort).min(1)).optional(),
  REDIS_CLUSTER_TLS: z.enum(['true', 'false']).default('false').transform((v) => v === 'true'),
  // The CA that signed the Redis servers' certificates (PEM), for TLS (REDIS_CLUSTER_TLS, rediss://) to a
  // Redis whose certificates no public CA signed; unset: Node's own list of public CAs (managed services).
  REDIS_TLS_CA_FILE: z
    .string()
    .min(1)
    .refine((file) => existsSync(file), 'no such file')
    .optional(),
  // An ACL user of its own (the cluster's session-app), so the app holds only the rights it needs.
  REDIS_USERNAME: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'letters, digits, . _ - (1 to 64)').optional(),
  REDIS_PASSWORD: z.string().min(1).optional(),
  REDIS_SENTINEL_USERNAME: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'letters, digits, . _ - (1 to 64)').optional(),
  REDIS_SENTINEL_PASSWORD: z.string().min(1).optional(),
  // A command not answered within this bound fails, so a request that needs Redis gets a 503 instead of hanging.
  REDIS_COMMAND_TIMEOUT_MS: int(50, 60_000).default(800),
  // ioredis's enableAutoPipelining: the commands of one event-loop tick go out in one write. Off by default
  // (docs/benchmarks-efficiency.md measures both).
  REDIS_AUTO_PIPELINING: z.enum(['true', 'false']).default('false').transform((v) => v === 'true'),

  SESSION_SECRETS: list.pipe(z.array(z.string().min(16, 'each secret needs at least 16 characters')).min(1)).optional(),
  // Keys the HMAC that turns a user id into the hash tag of that user's keys (session/keys.ts). Stable for
  // the store's lifetime: changing it strands the user indexes. Defaults to the first SESSION_SECRETS entry.
  SESSION_TAG_SECRET: z.string().min(16, 'needs at least 16 characters').optional(),
  SESSION_COOKIE_NAME: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/).default('sc.sid'),
  SESSION_COOKIE_SAMESITE: z.enum(['lax', 'strict']).default('lax'),
  SESSION_IDLE_TIMEOUT_S: int(1, 31_536_000).default(1800),
  SESSION_ABSOLUTE_TIMEOUT_S: int(1, 31_536_000).default(28_800),
  SESSION_TOUCH_AFTER_S: int(0, 31_536_000).optional(),
  // The lifetime of a session logged in with `remember: true` (7 days idle, 30 days absolute by default).
  SESSION_REMEMBER_IDLE_TIMEOUT_S: int(1, 31_536_000).default(604_800),
  SESSION_REMEMBER_ABSOLUTE_TIMEOUT_S: int(1, 31_536_000).default(2_592_000),
  SESSION_POLICY: policy.default({ kind: 'multi' }),
  // How long a password check counts as recent: past it, revoking the other sessions and the admin routes
  // answer 401 reauth_required until POST /api/reauth checks the password again (15 min by default).
  SESSION_REAUTH_WINDOW_S: int(1, 86_400).default(900),
  SESSION_MAX_BYTES: int(512, 1_048_576).default(10_240),
  // async: a write is answered once the primary has it (a failover can lose it). replicated: once WAIT says
  // SESSION_WRITE_REPLICAS replicas have it too, else 503 write_not_replicated (docs/operations.md).
  SESSION_WRITE_DURABILITY: z.enum(['async', 'replicated']).default('async'),
  // WAIT's timeout, which is how long a write may wait for its replicas; WAIT 0 would wait forever, so 1 at least.
  SESSION_WRITE_WAIT_MS: int(1, 60_000).default(250),
  SESSION_WRITE_REPLICAS: int(1, 16).default(1),
  // fail: a request that needs the store while it cannot be reached answers 503. read-only: GET /api/session
  // answers from a signed snapshot cookie (at most SESSION_SNAPSHOT_TTL_S old) instead (session/snapshot.ts).
  REDIS_DOWN_POLICY: z.enum(['fail', 'read-only']).default('fail'),
  SESSION_SNAPSHOT_TTL_S: int(1, 3600).default(60),

  TRUST_PROXY: int(0, 10).default(0),
  LOGIN_MAX_FAILURES: int(1, 10_000).default(10),
  LOGIN_WINDOW_S: int(1, 86_400).default(900),
  SHUTDOWN_TIMEOUT_MS: int(0, 120_000).default(10_000),
  // How long a stopping app leaves idle keep-alive connections open, for the proxy to use (and be told
  // Connection: close) or drop, before it closes them itself (see server.ts).
  SHUTDOWN_IDLE_GRACE_MS: int(0, 60_000).default(2_000),
  KEEP_ALIVE_TIMEOUT_MS: int(1000, 600_000).default(65_000),
});

/** `read-only`: while the store cannot be reached, GET /api/session answers what a snapshot cookie at most `snapshotTtlMs` old holds. */
export type RedisDownPolicy = { policy: 'fail' } | { policy: 'read-only'; snapshotTtlMs: number };

/** `replicated`: every session write is followed by WAIT `replicas` `waitMs` on its connection. */
export type WriteDurability = { durability: 'async' } | { durability: 'replicated'; waitMs: number; replicas: number };

export interface HostPort {
  host: string;
  port: number;
}

export interface Config {
  port: number;
  host: string;
  instanceId: string;
  logLevel: string;
  store: StoreMode;
  redis: {
    url: string;
    sentinels?: HostPort[];
    masterName: string;
    /** Set: a Redis Cluster (REDIS_CLUSTER_NODES), instead of one Redis or Sentinel. */
    cluster?: { nodes: HostPort[]; tls: boolean };
    /** PEM of the CA to trust for TLS to Redis (REDIS_TLS_CA_FILE), read at startup; unset: the public CAs. */
    tlsCa?: string;
    username?: string;
    password?: string;
    sentinelUsername?: string;
    sentinelPassword?: string;
    commandTimeoutMs: number;
    autoPipelining: boolean;
  };
  session: {
    secrets: string[];
    usesDevSecret: boolean;
    tagSecret: string;
    cookieName: string;
    sameSite: 'lax' | 'strict';
    idleTimeoutMs: number;
    absoluteTimeoutMs: number;
    /** A request extends the session only when this long has passed since the last extension. */
    touchAfterMs: number;
    /** The same three for a session logged in with `remember: true` (its lifetime class, `remembered`). */
    remember: { idleTimeoutMs: number; absoluteTimeoutMs: number; touchAfterMs: number };
    policy: SessionPolicy;
    /** How long after a password check (login or reauth) the sensitive routes accept the session. */
    reauthWindowMs: number;
    maxBytes: number;
    /** How a session write is acknowledged (SESSION_WRITE_*): by the primary alone, or by replicas too. */
    writes: WriteDurability;
    /** What a logged-in read gets while the store cannot be reached (REDIS_DOWN_POLICY). */
    redisDown: RedisDownPolicy;
  };
  trustProxy: number;
  login: { maxFailures: number; windowMs: number };
  shutdownTimeoutMs: number;
  shutdownIdleGraceMs: number;
  keepAliveTimeoutMs: number;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

function toHostPort(entry: string): HostPort {
  const [host, port] = entry.split(':') as [string, string];
  return { host, port: Number(port) };
}

/** Reads and validates the environment once; throws a ConfigError naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Readonly<Config> {
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  const e = parsed.data;
  const idleTimeoutMs = e.SESSION_IDLE_TIMEOUT_S * 1000;
  // SESSION_TOUCH_AFTER_S, when set, holds for both lifetime classes; unset, each extends at 1/30 of its idle window.
  const touchAfter = (idleMs: number) => (e.SESSION_TOUCH_AFTER_S === undefined ? defaultTouchAfterMs(idleMs) : e.SESSION_TOUCH_AFTER_S * 1000);
  const secrets = e.SESSION_SECRETS ?? [DEV_SESSION_SECRET];
  const config: Config = {
    port: e.PORT,
    host: e.HOST,
    instanceId: e.INSTANCE_ID ?? os.hostname(),
    logLevel: e.LOG_LEVEL,
    store: e.SESSION_STORE,
    redis: {
      url: e.REDIS_URL,
      sentinels: e.REDIS_SENTINELS?.map(toHostPort),
      masterName: e.REDIS_MASTER_NAME,
      cluster: e.REDIS_CLUSTER_NODES && { nodes: e.REDIS_CLUSTER_NODES.map(toHostPort), tls: e.REDIS_CLUSTER_TLS },
      tlsCa: e.REDIS_TLS_CA_FILE && readFileSync(e.REDIS_TLS_CA_FILE, 'utf8'),
      username: e.REDIS_USERNAME,
      password: e.REDIS_PASSWORD,
      sentinelUsername: e.REDIS_SENTINEL_USERNAME ?? e.REDIS_USERNAME,
      sentinelPassword: e.REDIS_SENTINEL_PASSWORD ?? e.REDIS_PASSWORD,
      commandTimeoutMs: e.REDIS_COMMAND_TIMEOUT_MS,
      autoPipelining: e.REDIS_AUTO_PIPELINING,
    },
    session: {
      secrets,
      usesDevSecret: e.SESSION_SECRETS === undefined,
      tagSecret: e.SESSION_TAG_SECRET ?? secrets[0]!,
      cookieName: e.SESSION_COOKIE_NAME,
      sameSite: e.SESSION_COOKIE_SAMESITE,
      idleTimeoutMs,
      absoluteTimeoutMs: e.SESSION_ABSOLUTE_TIMEOUT_S * 1000,
      touchAfterMs: touchAfter(idleTimeoutMs),
      remember: { idleTimeoutMs: e.SESSION_REMEMBER_IDLE_TIMEOUT_S * 1000, absoluteTimeoutMs: e.SESSION_REMEMBER_ABSOLUTE_TIMEOUT_S * 1000, touchAfterMs: touchAfter(e.SESSION_REMEMBER_IDLE_TIMEOUT_S * 1000) },
      policy: e.SESSION_POLICY,
      reauthWindowMs: e.SESSION_REAUTH_WINDOW_S * 1000,
      maxBytes: e.SESSION_MAX_BYTES,
      writes:
        e.SESSION_WRITE_DURABILITY === 'async'
          ? { durability: 'async' }
          : { durability: 'replicated', waitMs: e.SESSION_WRITE_WAIT_MS, replicas: e.SESSION_WRITE_REPLICAS },
      redisDown: e.REDIS_DOWN_POLICY === 'fail' ? { policy: 'fail' } : { policy: 'read-only', snapshotTtlMs: e.SESSION_SNAPSHOT_TTL_S * 1000 },
    },
    trustProxy: e.TRUST_PROXY,
    login: { maxFailures: e.LOGIN_MAX_FAILURES, windowMs: e.LOGIN_WINDOW_S * 1000 },
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    shutdownIdleGraceMs: e.SHUTDOWN_IDLE_GRACE_MS,
    keepAliveTimeoutMs: e.KEEP_ALIVE_TIMEOUT_MS,
  };
  checkCombinations(config);
  return Object.freeze(config);
}

/** The settings that are valid alone but not together. */
function checkCombinations(config: Config): void {
  const refuse = (variable: string, problem: string) => {
    throw new ConfigError(`invalid configuration:\n  ${variable}: ${problem}`);
  };
  if (config.redis.sentinels && config.redis.cluster) refuse('REDIS_CLUSTER_NODES', 'set either it or REDIS_SENTINELS, not both');
  if (config.session.touchAfterMs >= config.session.idleTimeoutMs) refuse('SESSION_TOUCH_AFTER_S', 'must be shorter than SESSION_IDLE_TIMEOUT_S');
  if (config.session.remember.touchAfterMs >= config.session.remember.idleTimeoutMs) refuse('SESSION_TOUCH_AFTER_S', 'must be shorter than SESSION_REMEMBER_IDLE_TIMEOUT_S');
  // The memory store is never unreachable: a snapshot there would be a second copy of the session for nothing.
  if (config.session.redisDown.policy === 'read-only' && config.store === 'memory') refuse('REDIS_DOWN_POLICY', 'read-only needs SESSION_STORE=redis: the memory store is never unreachable');
  const { writes } = config.session;
  if (writes.durability !== 'replicated') return;
  // The memory store has no replica to wait for: saying "replicated" there would promise what nothing does.
  if (config.store === 'memory') refuse('SESSION_WRITE_DURABILITY', 'replicated needs SESSION_STORE=redis: the memory store has no replicas');
  // The client gives up on WAIT after REDIS_COMMAND_TIMEOUT_MS: a longer WAIT would end as a timeout, not as its answer.
  if (writes.waitMs >= config.redis.commandTimeoutMs) refuse('SESSION_WRITE_WAIT_MS', 'must be shorter than REDIS_COMMAND_TIMEOUT_MS');
}
