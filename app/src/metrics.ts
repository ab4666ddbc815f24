import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { StatsView } from './http-contract';

/** The session store's figures: its operations' latency and failures, and the Redis commands beside them. */
function storeMetrics(registry: Registry) {
  return {
    storeDuration: new Histogram({
      name: 'sc_store_command_duration_seconds',
      help: 'Session store operation latency',
      labelNames: ['operation'] as const,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers: [registry],
    }),
    // The heartbeat, the events and the board readings of the live view (app/src/live): the benchmark takes
    // them off the apps' commands, as it does Sentinel's (docs/benchmarks.md).
    liveRedisCommands: new Counter({
      name: 'sc_live_redis_commands_total',
      help: 'Redis commands the live cluster view sent, counted as INFO commandstats counts them',
      registers: [registry],
    }),
    // SESSION_WRITE_DURABILITY=replicated: each of these was answered 503 write_not_replicated (durability.ts).
    sessionWritesNotReplicated: new Counter({
      name: 'sc_session_writes_not_replicated_total',
      help: 'Session writes that fewer than SESSION_WRITE_REPLICAS replicas acknowledged within SESSION_WRITE_WAIT_MS, by store operation',
      labelNames: ['operation'] as const,
      registers: [registry],
    }),
    // REDIS_DOWN_POLICY=read-only: GET /api/session while the store could not be reached (session/snapshot.ts).
    degradedReads: new Counter({
      name: 'sc_session_degraded_reads_total',
      help: 'GET /api/session while the store could not be reached: served from the snapshot cookie, or refused (none, expired, another session\'s)',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    storeErrors: new Counter({
      name: 'sc_store_errors_total',
      help: 'Session store operations that failed',
      labelNames: ['operation'] as const,
      registers: [registry],
    }),
  };
}

/** One registry per app instance, so two apps in one test process keep separate figures. */
export function createMetrics(instanceId: string, withProcessMetrics: boolean) {
  const registry = new Registry();
  registry.setDefaultLabels({ instance: instanceId });
  if (withProcessMetrics) collectDefaultMetrics({ register: registry });
  return {
    registry,
    httpRequests: new Counter({
      name: 'sc_http_requests_total',
      help: 'HTTP requests by route, method and status',
      labelNames: ['route', 'method', 'status'] as const,
      registers: [registry],
    }),
    // With nginx's upstream keepalive, connections from nginx stay far below its requests; the benchmark
    // reads reuse = 1 - connections / requests (docs/benchmarks.md). Healthchecks come over loopback.
    httpConnections: new Counter({
      name: 'sc_http_connections_total',
      help: 'TCP connections accepted, by peer: loopback (healthchecks inside the container) or remote (nginx)',
      labelNames: ['peer'] as const,
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: 'sc_http_request_duration_seconds',
      help: 'HTTP request duration by route',
      labelNames: ['route', 'method'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    sessionsCreated: new Counter({
      name: 'sc_sessions_created_total',
      help: 'Sessions created by login',
      registers: [registry],
    }),
    sessionsEnded: new Counter({
      name: 'sc_sessions_ended_total',
      help: 'Sessions ended, by reason',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    ...storeMetrics(registry),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

/** Reused for this long, so the gauges of one scrape share one read of the figures. */
const STATS_READ_REUSE_MS = 1000;

/**
 * GET /api/stats as gauges, read from the store when Prometheus scrapes: the whole cluster's figures on every
 * instance of a shared store (any one instance's series will do), the instance's own in memory. A scrape while
 * the store cannot be reached leaves them out rather than failing /metrics.
 */
export function registerStatsMetrics({ registry }: Metrics, read: () => Promise<StatsView>): void {
  let last: { at: number; figures: Promise<StatsView | null> } | undefined;
  const figures = () => {
    if (!last || Date.now() - last.at > STATS_READ_REUSE_MS) last = { at: Date.now(), figures: read().catch(() => null) };
    return last.figures;
  };
  const gauge = <L extends string>(name: string, help: string, labelNames: readonly L[], set: (g: Gauge<L>, s: StatsView) => void) =>
    new Gauge<L>({
      name,
      help,
      labelNames,
      registers: [registry],
      async collect() {
        this.reset();
        const s = await figures();
        if (s) set(this, s);
      },
    });
  gauge('sc_cluster_sessions_active', 'Live sessions (the cluster\'s, from the shared store; the instance\'s in the sticky variant)', [], (g, s) => g.set(s.activeSessions));
  gauge('sc_cluster_users_active', 'Users with at least one live session', [], (g, s) => g.set(s.activeUsers));
  gauge('sc_cluster_sessions_created', 'Sessions started, by the instance that started them', ['created_by'], (g, s) => {
    for (const [instance, n] of Object.entries(s.createdByInstance)) g.set({ created_by: instance }, n);
  });
  gauge('sc_cluster_sessions_ended', 'Sessions ended, by reason (logout, revoked, policy, idle_expiry, absolute_expiry)', ['reason'], (g, s) => {
    for (const [reason, n] of Object.entries(s.endedByReason)) g.set({ reason }, n);
  });
  gauge('sc_cluster_session_duration_seconds', 'Lifetime of the sessions that ended in the last hour: average and p95', ['stat'], (g, s) => {
    if (s.endedLastHour.averageDurationS !== null) g.set({ stat: 'average' }, s.endedLastHour.averageDurationS);
    if (s.endedLastHour.p95DurationS !== null) g.set({ stat: 'p95' }, s.endedLastHour.p95DurationS);
  });
  gauge('sc_cluster_logins_last_minute', 'Logins in the last 60 s', [], (g, s) => g.set(s.loginsLastMinute));
}
