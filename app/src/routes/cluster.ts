import { Router } from 'express';
import Redis from 'ioredis';
import type { Config } from '../config';
import { HttpError } from '../errors';
import type { ClusterView } from '../http-contract';
import { isStoreUnavailableError } from '../redis';
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

export function clusterRoutes(config: Readonly<Config>, store: SessionStore, redis: Redis | undefined): { router: Router; close: () => void } {
  const router = Router();
  const sentinels = config.redis.sentinels ? new SentinelProbe(config.redis) : null;

  router.get('/cluster', async (_req, res) => {
    const base = { instance: config.instanceId, store: store.mode };
    if (!redis) {
      res.json({ ...base, redis: null, sentinel: null, sessions: await store.countLive(DEMO_USER_IDS) } satisfies ClusterView);
      return;
    }
    try {
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
