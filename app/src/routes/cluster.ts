import { Router, type Request } from 'express';
import Redis, { Cluster } from 'ioredis';
import type { Config } from '../config';
import { HttpError } from '../errors';
import type { ClusterShard, ClusterView, RedisClusterView } from '../http-contract';
import { isStoreUnavailableError, type RedisClient } from '../redis';
import { sessionKey } from '../session/keys';
import type { SessionStore } from '../session/types';
import { DEMO_USER_IDS } from '../users';

/** `INFO section` as key → value. */
function parseInfo(text: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of text.split('\r\n')) {
    const at = line.indexOf(':');
    if (at > 0 && !line.startsWith('#')) fields[line.slice(0, at)] = line.slice(at + 1);
  }
  return fields;
}

/** Replicas as the primary lists them: `slave0:ip=…,port=…,state=online,offset=…,lag=…`. */
function replicasOf(info: Record<string, string>) {
  return Object.entries(info)
    .filter(([key]) => /^slave\d+$/.test(key))
    .map(([, value]) => {
      const f = Object.fromEntries(value.split(',').map((pair) => pair.split('=') as [string, string]));
      return { address: `${f.ip}:${f.port}`, state: f.state ?? 'unknown', offset: Number(f.offset), lag: Number(f.lag) };
    });
}

/** A RESP2 map (a flat [name, value, name, value…] list) as an object. */
function fieldsOf(reply: unknown[]): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  for (let i = 0; i + 1 < reply.length; i += 2) fields[String(reply[i])] = reply[i + 1];
  return fields;
}

/** One shard of CLUSTER SHARDS: its slot ranges, its primary and its replicas. */
function shardOf(reply: unknown[]): ClusterShard {
  const { slots = [], nodes = [] } = fieldsOf(reply) as { slots?: number[]; nodes?: unknown[][] };
  const members = nodes.map((node) => {
    const f = fieldsOf(node);
    return { address: `${String(f.endpoint ?? f.ip)}:${Number(f.port ?? f['tls-port'])}`, role: String(f.role), health: String(f.health), offset: Number(f['replication-offset']) };
  });
  const ranges: [number, number][] = [];
  for (let i = 0; i + 1 < slots.length; i += 2) ranges.push([Number(slots[i]), Number(slots[i + 1])]);
  return {
    primary: members.find((m) => m.role === 'master')?.address ?? null,
    replicas: members.filter((m) => m.role !== 'master').map(({ address, health, offset }) => ({ address, health, offset })),
    slots: ranges,
  };
}

/** The cluster as a node sees it, and where the request's own session lives in it. */
async function describeCluster(cluster: Cluster, req: Request): Promise<RedisClusterView> {
  const hasSession = Boolean((req.session as { userId?: string } | undefined)?.userId);
  const [info, shards, slot] = await Promise.all([
    cluster.call('CLUSTER', 'INFO').then((text) => parseInfo(String(text))),
    cluster.call('CLUSTER', 'SHARDS').then((reply) => (reply as unknown[][]).map(shardOf)),
    hasSession ? cluster.call('CLUSTER', 'KEYSLOT', sessionKey(req.sessionID)).then(Number) : null,
  ]);
  const holder = slot === null ? undefined : shards.find((shard) => shard.slots.some(([from, to]) => slot >= from && slot <= to));
  return {
    state: info.cluster_state ?? 'unknown',
    shards: shards.filter((shard) => shard.slots.length > 0).sort((a, b) => a.slots[0]![0] - b.slots[0]![0]),
    thisSession: slot === null ? null : { slot, primary: holder?.primary ?? null },
  };
}

/** Asks the Sentinels, in turn, which node is the primary now. Connections are opened on first use. */
class SentinelProbe {
  private readonly clients: Redis[];
  constructor(private readonly config: Config['redis']) {
    this.clients = (config.sentinels ?? []).map(
      ({ host, port }) =>
        new Redis({
          host,
          port,
          username: config.sentinelUsername,
          password: config.sentinelPassword,
          lazyConnect: true,
          enableOfflineQueue: false,
          commandTimeout: config.commandTimeoutMs,
          connectTimeout: config.commandTimeoutMs,
          maxRetriesPerRequest: 0,
          retryStrategy: () => 1000,
        }).on('error', () => undefined), // unreachable Sentinels are reported per call, not logged on every retry
    );
  }

  async primary(): Promise<{ address: string; answeredBy: string } | null> {
    for (const client of this.clients) {
      try {
        if (client.status === 'wait') await client.connect();
        const [host, port] = (await client.call('SENTINEL', 'get-master-addr-by-name', this.config.masterName)) as [string, string];
        return { address: `${host}:${port}`, answeredBy: `${client.options.host}:${client.options.port}` };
      } catch {
        // try the next Sentinel
      }
    }
    return null;
  }

  close(): void {
    for (const client of this.clients) client.disconnect();
  }
}

export function clusterRoutes(config: Readonly<Config>, store: SessionStore, redis: RedisClient | undefined): { router: Router; close: () => void } {
  const router = Router();
  const sentinels = config.redis.sentinels ? new SentinelProbe(config.redis) : null;

  router.get('/cluster', async (req, res) => {
    const base = { instance: config.instanceId, store: store.mode, redis: null, sentinel: null, redisCluster: null };
    if (!redis) {
      res.json({ ...base, sessions: await store.countLive(DEMO_USER_IDS) } satisfies ClusterView);
      return;
    }
    try {
      if (redis instanceof Cluster) {
        const [redisCluster, sessions] = await Promise.all([describeCluster(redis, req), store.countLive(DEMO_USER_IDS)]);
        res.json({ ...base, redisCluster, sessions } satisfies ClusterView);
        return;
      }
      const [replication, persistence, sessions, primary] = await Promise.all([
        redis.info('replication').then(parseInfo),
        redis.info('persistence').then(parseInfo),
        store.countLive(DEMO_USER_IDS),
        sentinels?.primary() ?? null,
      ]);
      res.json({
        ...base,
        redis: {
          mode: sentinels ? 'sentinel' : 'standalone',
          connectedTo: redis.stream ? `${redis.stream.remoteAddress}:${redis.stream.remotePort}` : null,
          role: replication.role === 'master' ? 'primary' : 'replica',
          replicationOffset: Number(replication.master_repl_offset),
          replicas: replicasOf(replication),
          aof: { enabled: persistence.aof_enabled === '1', lastWrite: persistence.aof_last_write_status ?? null },
        },
        sentinel: sentinels ? { primary: primary?.address ?? null, answeredBy: primary?.answeredBy ?? null } : null,
        redisCluster: null,
        sessions,
      } satisfies ClusterView);
    } catch (err) {
      if (isStoreUnavailableError(err) || redis.status !== 'ready') {
        throw new HttpError(503, 'redis_unavailable', 'Redis cannot be reached from this instance');
      }
      throw err;
    }
  });

  return { router, close: () => sentinels?.close() };
}
