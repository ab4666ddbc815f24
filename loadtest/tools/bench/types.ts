// The benchmark's shapes: what k6 and the probes hand over, and the figures bench-run.ts writes (<out>.json).

import type { BenchVariant } from '../../lib/variants.ts';

/** The benchmark's variant: the baseline, sticky, redis (Sentinel) or cluster (Redis Cluster). */
export type Variant = BenchVariant;

export interface CpuReading {
  at: number;
  containers: Record<string, number>;
  k6: number | null;
  host: { busy: number; total: number };
}

export interface AppCounters {
  /** TCP connections accepted from nginx (peer="remote"). */
  connections: number;
  /** Requests answered, by route; /readyz and /metrics are the healthchecks' and this probe's. */
  requests: Record<string, number>;
  /** Session store operations (sc_store_command_duration_seconds_count), by operation. */
  storeOps: Record<string, number>;
  /** Redis commands the live cluster view sent (sc_live_redis_commands_total): heartbeats, events, board readings. */
  liveCommands?: number;
}

export interface K6Metric {
  values: Record<string, number>;
}

/** What the bench scripts' handleSummary writes (summary.json). */
export interface K6Summary {
  variant: Variant;
  mix: string;
  plan: Record<string, unknown>;
  k6: { metrics: Record<string, K6Metric> };
}

export interface Counters {
  commands: Record<string, number>;
  apps: Record<string, AppCounters>;
}

/** What bench-run reads around a steady phase: counters in the idle gap before the load and after k6 ends, CPU at the load's edges. */
export interface Measured {
  counters: [Counters, Counters];
  cpu: [CpuReading, CpuReading];
  /** The counters before the load were read after it had started: the figures that use them are off. */
  late: boolean;
}

export interface RampStep {
  rate: number;
  /** rate × hold: the iterations the step should have started. */
  planned: number;
  started: number;
  dropped: number;
  failedRate: number;
  p50: number;
  p95: number;
  p99: number;
  ok: boolean;
}

export interface RampRound {
  sustainable: number | null;
  /** No step above `sustainable` failed: the staircase ended first, the maximum is at least that. */
  censored: boolean;
  firstFailing: RampStep | null;
  passes: { kind: string; rampS: number; holdS: number; steps: RampStep[] }[];
}

/** One configuration's ramps: every round, and the best one's figure. */
export interface RampResult {
  name: string;
  variant: string;
  apps: number;
  sustainable: number | null;
  censored: boolean;
  /** The index of the round `sustainable` comes from. */
  best: number;
  rounds: RampRound[];
}

export interface SteadyResult {
  name: string;
  variant: string;
  /** 1, 2, …; null for the reads-only phase. */
  round: number | null;
  mix: string;
  rate: number;
  durationS: number;
  requests: number;
  reads: number;
  writes: number;
  failed: number;
  dropped: number;
  latencyMs: { p50: number; p95: number; p99: number; max: number; readP95: number; writeP95: number };
  cpu: {
    wallS: number;
    containers: Record<string, number>;
    /** CPU-seconds over the phase: gross, and net of each container's idle rate (idlePerS, CPU-s per second). */
    stack: { nginx: number; apps: number; redis: number; total: number };
    idlePerS: Record<string, number>;
    net: { nginx: number; apps: number; redis: number; total: number };
    /** Net CPU-seconds per 1000 requests; perThousandGross without the idle rates taken off. */
    perThousand: number;
    perThousandGross: number;
    k6: number | null;
    hostBusy: number;
    other: number;
  };
  /** appCommands: the apps' commands less their live view's (liveCommands), so the heartbeat is not counted per request. */
  redis: { commands: Record<string, number>; appCommands: number; liveCommands: number; perRequest: number; perRead: number | null } | null;
  storeOpsPerRequest: Record<string, number>;
  keepalive: { connections: number; requests: number; reuse: number | null };
  countersLate: boolean;
}

export interface BenchResults {
  mode: 'full' | 'short';
  startedAt: string;
  durationS: number;
  run: Record<string, unknown>;
  settings: {
    runner: string;
    p95BoundMs: number;
    edgeTolerance: number;
    maxFailed: number;
    vus: number;
    sessions: number;
    writeEvery: number;
    gapS: number;
    plan: Record<string, unknown>;
    logLevel: string;
    redisPrimary: string;
    /** The Redis Cluster's primaries as the run started (absent in reports from before the cluster variant). */
    clusterPrimaries?: string[];
    cpuSource: string;
    runDir: string;
    rounds: number;
  };
  ramps: RampResult[];
  equalLoad: { rate: number; phases: SteadyResult[] };
  gate: Gate;
}

/** The CI gate: Redis commands per authenticated read in each store mode, from their reads-only phases. */
export interface Gate {
  /** Sentinel mode's (the redis variant); null when not measured. */
  commandsPerRead: number | null;
  /** Redis Cluster mode's; null when not measured, absent in reports from before the cluster variant. */
  clusterCommandsPerRead?: number | null;
  limit: number;
  ok: boolean;
}

