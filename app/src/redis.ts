import Redis, { Cluster, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import type { Config } from './config';

/** One Redis (standalone, or its primary found through Sentinel), or a Redis Cluster. */
export type RedisClient = Redis | Cluster;

export type RedisMode = 'standalone' | 'sentinel' | 'cluster';

export function redisMode(config: Config['redis']): RedisMode {
  if (config.cluster) return 'cluster';
  return config.sentinels ? 'sentinel' : 'standalone';
}

/**
 * The one Redis client factory: standalone from REDIS_URL, through Sentinel when REDIS_SENTINELS is set, or a
 * Redis Cluster from its seed nodes when REDIS_CLUSTER_NODES is.
 *
 * Failure policy: reads wait in the offline queue while the client reconnects (this rides out a
 * Sentinel failover), but never longer than REDIS_COMMAND_TIMEOUT_MS, so a request that needs Redis is
 * answered 503 within about a second when Redis is gone. Session writes do not wait there: the store sends
 * them only on a ready connection (session/redis-store.ts, WriteNotSentError), since a queued write whose
 * request was already answered 503 would still go out once the connection came back. (A Cluster has no such bound on its queue, so
 * in cluster mode there is none: see clusterClient.) Reconnection never gives up, so the app recovers
 * on its own when Redis returns.
 */
export function createRedisClient(config: Config['redis'], logger: Logger): RedisClient {
  const common: RedisOptions = {
    username: config.username,
    password: config.password,
    commandTimeout: config.commandTimeoutMs,
    enableAutoPipelining: config.autoPipelining,
    connectTimeout: Math.max(config.commandTimeoutMs, 1000),
    enableOfflineQueue: true,
    // Fail queued commands after a reconnect attempt instead of retrying them many times over.
    maxRetriesPerRequest: 1,
    retryStrategy: (attempt) => Math.min(100 * attempt, 1000),
    // After a failover the old primary answers READONLY: reconnect so Sentinel hands us the new one.
    reconnectOnError: (err) => (err.message.startsWith('READONLY') ? 2 : false),
  };
  const client = config.cluster
    ? clusterClient(config, common)
    : config.sentinels
    ? new Redis({
        ...common,
        sentinels: config.sentinels,
        name: config.masterName,
        sentinelUsername: config.sentinelUsername,
        sentinelPassword: config.sentinelPassword,
        sentinelRetryStrategy: (attempt) => Math.min(200 * attempt, 2000),
        // Sentinel publishes +switch-master; follow it without waiting for an error.
        failoverDetector: true,
      })
    : new Redis(config.url, config.url.startsWith('rediss:') ? { ...common, tls: tlsOptions(config) } : common);

  let lastError = '';
  client.on('error', (err: Error) => {
    // ioredis emits the same error on every reconnect attempt: log each distinct one once.
    if (err.message !== lastError) logger.warn({ err: err.message }, 'redis error');
    lastError = err.message;
  });
  client.on('ready', () => {
    lastError = '';
    logger.info({ mode: redisMode(config) }, 'redis ready');
  });
  client.on('+node', () => logger.info('redis sentinel reported a new node'));
  // ioredis gives up for good ("end": every command then fails with "Connection is closed.") when its
  // Sentinel connector's connect fails outright: a Sentinel names a node Docker's DNS does not resolve yet,
  // or +switch-master arrives mid-reconnect (docs/reliability.md, finding 1). Start over, unless we are the
  // ones closing it (closeRedisClient).
  client.on('end', () => {
    if (closing.has(client)) return;
    logger.warn('redis client stopped reconnecting; starting over');
    setTimeout(() => {
      // 'close' too: a Cluster that gave up can get one more close after its end, and stays there.
      if (!closing.has(client) && (client.status === 'end' || client.status === 'close')) client.connect().catch(() => undefined);
    }, 500).unref();
  });
  return client;
}

/**
 * ioredis's Cluster: it learns the slot map from any seed node, sends each command to the primary holding its
 * key's slot, follows MOVED and ASK (slot migration), and refreshes the map when a primary fails over.
 * Reads go to primaries too (scaleReads 'master'): a replica may lag behind a write this session just made.
 */
/** TLS to Redis: the CA of REDIS_TLS_CA_FILE when given, else Node's public CAs; the certificate is always checked. */
function tlsOptions(config: Config['redis']): RedisOptions['tls'] {
  return config.tlsCa ? { ca: [config.tlsCa] } : {};
}

function clusterClient(config: Config['redis'], common: RedisOptions): Cluster {
  const cluster = config.cluster!;
  return new Cluster(cluster.nodes, {
    redisOptions: cluster.tls ? { ...common, tls: tlsOptions(config) } : common,
    scaleReads: 'master',
    // No offline queue: while the client has no cluster at all (before the first slot map, or every node
    // gone) a command fails at once, where queued it would wait for the cluster with no timeout — the
    // nodes' commandTimeout starts only once a command is sent. A failed node alone does not stop the
    // client: its slots' commands are retried below while its replica takes over.
    enableOfflineQueue: false,
    clusterRetryStrategy: (attempt) => Math.min(100 * attempt, 1000),
    // While a failed primary's replica takes over, its slots answer CLUSTERDOWN or nothing: wait and retry
    // within the command timeout rather than fail at once.
    retryDelayOnFailover: 100,
    retryDelayOnClusterDown: 100,
    retryDelayOnTryAgain: 100,
    slotsRefreshTimeout: Math.max(common.commandTimeout ?? 1000, 1000),
    // Managed services put TLS certificates on host names: connect by the name, not a resolved address.
    ...(cluster.tls ? { dnsLookup: (address: string, callback: (err: null, address: string) => void) => callback(null, address) } : {}),
  });
}

const closing = new WeakSet<RedisClient>();

/**
 * Closes a client made by createRedisClient for good: QUIT (the replies still due arrive first), then a
 * disconnect, which also closes what QUIT leaves open: in Sentinel mode, the failover detector's subscriptions
 * to the Sentinels, which would otherwise keep reconnecting to them for ever.
 */
export async function closeRedisClient(client: RedisClient): Promise<void> {
  closing.add(client);
  // A client already closed (or a Cluster that gave up) would hold QUIT in its offline queue for ever.
  if (client.status !== 'end' && client.status !== 'close') await client.quit().catch(() => undefined);
  client.disconnect();
}

/** Errors that mean "the store cannot be reached right now", as opposed to a bug. */
export function isStoreUnavailableError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (err.name === 'MaxRetriesPerRequestError' || err.name === 'WriteNotSentError') return true;
  // A slot that moved: ioredis follows it itself, except in a pipeline it does not retry (session/redis-store.ts).
  if (/^(MOVED|ASK) \d+ /.test(err.message)) return true;
  // NOREPLICAS: min-replicas-to-write refuses writes while too few replicas are connected (docs/operations.md).
  return /Command timed out|Connection is closed|Stream isn't writeable|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|READONLY|LOADING|MASTERDOWN|CLUSTERDOWN|TRYAGAIN|NOREPLICAS|All sentinels are unreachable|Failed to refresh slots cache|None of startup nodes is available|Cluster isn't ready/i.test(
    err.message,
  );
}
