import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

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
