// The benchmark's arithmetic: k6 summaries and the readings taken around them into figures, the sustainable
// rates, the idle CPU, the gate. No I/O (test/unit/bench-figures.test.ts).
import type { Counters, CpuReading, Gate, K6Summary, Measured, RampResult, RampRound, RampStep, SteadyResult, Variant } from './types.ts';
import type { BenchSettings, Plan } from './settings.ts';

/**
 * The containers each variant's CPU is summed over: its nginx, its apps, and (all but sticky) its Redis nodes
 * (the service names of docker-compose.yml, as in toolkit/services.ts; this file stays free of imports).
 */
export const STACK: Record<Variant, { nginx: string; apps: string[]; redis: string[] }> = {
  sticky: { nginx: 'nginx-sticky', apps: ['sticky-1', 'sticky-2', 'sticky-3'], redis: [] },
  redis: { nginx: 'nginx', apps: ['app-1', 'app-2', 'app-3'], redis: ['redis-primary', 'redis-replica', 'redis-replica-2'] },
  baseline: { nginx: 'nginx', apps: ['app-1', 'app-2', 'app-3'], redis: ['redis-primary', 'redis-replica', 'redis-replica-2'] },
  cluster: { nginx: 'nginx-cluster', apps: ['cluster-app-1', 'cluster-app-2', 'cluster-app-3'], redis: [1, 2, 3, 4, 5, 6].map((n) => `redis-node-${n}`) },
};

/**
 * Commands the apps do not send for a request: Sentinel's pings, INFO and hello messages, the replica's
 * REPLCONF ACKs, the probe's own AUTH and INFO, and in cluster mode the clients' slot-map refreshes (CLUSTER
 * SLOTS every few seconds). Everything else on a primary is the apps' (INFO commandstats counts the commands
 * a Lua script runs too, each under its own name).
 */
export const BACKGROUND_COMMANDS = /^(ping|info|publish|subscribe|psubscribe|replconf|psync|sync|auth|hello|role|select|client\|.*|config\|.*|command\|.*|cluster\|.*)$/;

/** The CI gate: an authenticated read may cost at most this many Redis commands. */
export const GATE_COMMANDS_PER_READ = 1.05;

export const round10 = (x: number) => Math.max(10, Math.round(x / 10) * 10);

export const metric = (s: K6Summary, name: string, stat: string) => s.k6.metrics[name]?.values[stat] ?? 0;

/** A cumulative counter at `t`, interpolated between the samples around it; held at the last one past the end. */
export function valueAt(points: { at: number; value: number }[], t: number): number | null {
  if (points.length === 0) return null;
  const i = points.findIndex((p) => p.at >= t);
  if (i === -1) return points.at(-1)!.value;
  if (i === 0) return points[0]!.value;
  const a = points[i - 1]!;
  const b = points[i]!;
  return a.value + ((b.value - a.value) * (t - a.at)) / (b.at - a.at);
}

/** The CPU reading at `t`, from the 200 ms samples. k6's own container is gone in the last samples: its figure stops with it. */
export function cpuAt(samples: CpuReading[], t: number): CpuReading {
  const at = (pick: (x: CpuReading) => number | null | undefined) => {
    const points = samples.flatMap((x) => {
      const value = pick(x);
      return typeof value === 'number' ? [{ at: x.at, value }] : [];
    });
    return valueAt(points, t);
  };
  const containers: Record<string, number> = {};
  for (const key of Object.keys(samples[0]!.containers)) containers[key] = at((x) => x.containers[key]) ?? 0;
  return { at: t, containers, k6: at((x) => x.k6), host: { busy: at((x) => x.host.busy) ?? 0, total: at((x) => x.host.total) ?? 0 } };
}

/** The CPU readings at the load's start (k6's bench_load_start_ms) and end; throws when the samples do not cover it. */
export function cpuOverLoad(phase: string, summary: K6Summary, durationS: number, samples: CpuReading[]): Measured['cpu'] {
  const start = metric(summary, 'bench_load_start_ms', 'value');
  if (!start) throw new Error(`${phase}: k6 did not report when the load started`);
  const end = start + durationS * 1000;
  if (samples.length < 2 || samples[0]!.at > start || samples.at(-1)!.at < end) throw new Error(`${phase}: the CPU samples do not cover the load`);
  return [cpuAt(samples, start), cpuAt(samples, end)];
}

// ---- ramps -------------------------------------------------------------------------------------------

export type StepLimits = Pick<BenchSettings, 'edgeTolerance' | 'p95BoundMs' | 'maxFailed'>;

/** The held steps a ramp reached (its summary's per-step metrics), each judged sustainable or not. */
export function rampSteps(summary: K6Summary, limits: StepLimits): RampStep[] {
  const plan = summary.plan as { rates: number[]; holdS: number };
  const steps: RampStep[] = [];
  plan.rates.forEach((rate, i) => {
    const started = metric(summary, `http_reqs{step:${i}}`, 'count');
    if (started === 0) return; // not reached: the run stopped before
    const planned = rate * plan.holdS;
    const step: RampStep = {
      rate,
      planned,
      started,
      dropped: Math.max(0, planned - started),
      failedRate: metric(summary, `http_req_failed{step:${i}}`, 'rate'),
      p50: metric(summary, `http_req_duration{step:${i}}`, 'med'),
      p95: metric(summary, `http_req_duration{step:${i}}`, 'p(95)'),
      p99: metric(summary, `http_req_duration{step:${i}}`, 'p(99)'),
      ok: false,
    };
    step.ok = step.dropped <= limits.edgeTolerance && step.p95 <= limits.p95BoundMs && step.failedRate <= limits.maxFailed;
    steps.push(step);
  });
  return steps;
}

/** The coarse staircase's rates: from `start`, × `factor` each step, up to 5000 requests/s. */
export function coarseRates(coarse: Plan['coarse']): number[] {
  const rates: number[] = [];
  for (let r = coarse.start; r <= 5000; r *= coarse.factor) rates.push(round10(r));
  return rates;
}

/** The fine staircase's rates around the coarse knee, without repeats. */
export function fineRates(knee: number, fine: NonNullable<Plan['fine']>): number[] {
  const count = Math.round((fine.to - fine.from) / fine.step) + 1;
  return [...new Set(Array.from({ length: count }, (_, i) => round10(knee * (fine.from + i * fine.step))))];
}

/** The highest sustainable rate among the steps; 0 when none held. */
export const bestRate = (steps: RampStep[]) => Math.max(0, ...steps.filter((s) => s.ok).map((s) => s.rate));

/** A ramp's figure from its passes (coarse first): the maximum sustainable rate, and the first step above it that failed. */
export function rampVerdict(passes: RampRound['passes']): Omit<RampRound, 'passes'> {
  const coarse = passes[0]!.steps;
  // The fine pass decides (longer holds, finer steps); the coarse one only when nothing in the fine one held.
  const sustainable = bestRate(passes.at(-1)!.steps) || bestRate(coarse) || null;
  const all = passes.flatMap((p) => p.steps);
  const firstFailing = all.filter((s) => !s.ok && s.rate > (sustainable ?? 0)).sort((a, b) => a.rate - b.rate)[0] ?? null;
  // Nothing above the maximum failed: the staircase ended first, and the real maximum is higher.
  const censored = sustainable !== null && firstFailing === null;
  return { sustainable, censored, firstFailing };
}

/** A configuration's figure: its best round (the first of equals). */
export function bestRamp(name: string, variant: Variant, apps: number, rounds: RampRound[]): RampResult {
  const best = rounds.reduce((b, r, i) => ((r.sustainable ?? 0) > (rounds[b]!.sustainable ?? 0) ? i : b), 0);
  return { name, variant, apps, sustainable: rounds[best]!.sustainable, censored: rounds[best]!.censored, best, rounds };
}

// ---- steady phases -----------------------------------------------------------------------------------

/** b − a per key, keys whose difference is 0 left out. */
export function delta(a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  const d: Record<string, number> = {};
  for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const v = (b[key] ?? 0) - (a[key] ?? 0);
    if (v !== 0) d[key] = v;
  }
  return d;
}

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

/** CPU-seconds over the load, gross; the net figures are set by subtractIdle once every phase has run. */
export function cpuFigures(variant: Variant, [cpu0, cpu1]: Measured['cpu'], requests: number): SteadyResult['cpu'] {
  const stack = STACK[variant];
  const cpu = delta(cpu0.containers, cpu1.containers);
  const of = (services: string[]) => sum(services.map((s) => cpu[s] ?? 0));
  const stackCpu = of([stack.nginx, ...stack.apps, ...stack.redis]);
  const k6Cpu = cpu0.k6 !== null && cpu1.k6 !== null ? cpu1.k6 - cpu0.k6 : null;
  const hostBusy = cpu1.host.busy - cpu0.host.busy;
  return {
    wallS: (cpu1.at - cpu0.at) / 1000,
    containers: cpu,
    stack: { nginx: cpu[stack.nginx] ?? 0, apps: of(stack.apps), redis: of(stack.redis), total: stackCpu },
    perThousandGross: requests ? (stackCpu / requests) * 1000 : 0,
    idlePerS: {},
    net: { nginx: 0, apps: 0, redis: 0, total: 0 },
    perThousand: 0,
    k6: k6Cpu,
    hostBusy,
    // Everything else on the machine: other jobs, dockerd, the kernel's share of the bridge networking.
    other: hostBusy - sum(Object.values(cpu)) - (k6Cpu ?? 0),
  };
}

/**
 * The apps' commands on the primary over the phase, per request and (a reads-only phase) per read; none for
 * sticky. What the apps' live view sent (its heartbeat: 5 commands a second per app) is taken off, as it counts
 * them itself: it is the same whatever the load, so per request it would only say how long the phase was.
 */
export function redisFigures(variant: Variant, [before, after]: Measured['counters'], requests: number, reads: number): SteadyResult['redis'] {
  if (variant === 'sticky') return null;
  const commands = delta(before.commands, after.commands);
  const liveCommands = sum(STACK[variant].apps.map((app) => (after.apps[app]?.liveCommands ?? 0) - (before.apps[app]?.liveCommands ?? 0)));
  const appCommands = Math.max(0, sum(Object.entries(commands).filter(([name]) => !BACKGROUND_COMMANDS.test(name)).map(([, n]) => n)) - liveCommands);
  return { commands, appCommands, liveCommands, perRequest: requests ? appCommands / requests : 0, perRead: reads && reads === requests ? appCommands / reads : null };
}

/** The apps' own counters over the phase: store operations per request, and nginx's keep-alive reuse. */
export function appFigures(variant: Variant, [before, after]: [Counters, Counters], requests: number): Pick<SteadyResult, 'storeOpsPerRequest' | 'keepalive'> {
  const storeOps: Record<string, number> = {};
  let connections = 0;
  let served = 0;
  for (const app of STACK[variant].apps) {
    const a = before.apps[app];
    const b = after.apps[app];
    if (!a || !b) continue;
    // The probe's own fetch after the load is one connection from nginx's address; its request (and the one
    // before the load) is on /metrics, left out below with the healthchecks' /readyz.
    connections += b.connections - a.connections - 1;
    for (const [route, n] of Object.entries(delta(a.requests, b.requests))) if (route !== '/readyz' && route !== '/metrics') served += n;
    for (const [op, n] of Object.entries(delta(a.storeOps, b.storeOps))) storeOps[op] = (storeOps[op] ?? 0) + n;
  }
  return {
    storeOpsPerRequest: Object.fromEntries(Object.entries(storeOps).map(([op, n]) => [op, requests ? n / requests : 0])),
    keepalive: { connections, requests: served, reuse: served ? 1 - connections / served : null },
  };
}

export interface SteadyPhase {
  name: string;
  variant: Variant;
  round: number | null;
  rate: number;
  durationS: number;
}

/** One equal-load phase's figures, from k6's summary and what was measured around the load. */
export function steadyFigures(phase: SteadyPhase, summary: K6Summary, m: Measured): SteadyResult {
  const requests = metric(summary, 'http_reqs{kind:bench}', 'count');
  const reads = metric(summary, 'http_reqs{op:read}', 'count');
  const latency = (stat: string, tag = 'kind:bench') => metric(summary, `http_req_duration{${tag}}`, stat);
  const { storeOpsPerRequest, keepalive } = appFigures(phase.variant, m.counters, requests);
  return {
    name: phase.name,
    variant: phase.variant,
    round: phase.round,
    mix: summary.mix,
    rate: phase.rate,
    durationS: phase.durationS,
    requests,
    reads,
    writes: metric(summary, 'http_reqs{op:write}', 'count'),
    failed: metric(summary, 'http_req_failed{kind:bench}', 'passes'),
    dropped: metric(summary, 'dropped_iterations', 'count'),
    latencyMs: { p50: latency('med'), p95: latency('p(95)'), p99: latency('p(99)'), max: latency('max'), readP95: latency('p(95)', 'op:read'), writeP95: latency('p(95)', 'op:write') },
    cpu: cpuFigures(phase.variant, m.cpu, requests),
    redis: redisFigures(phase.variant, m.counters, requests, reads),
    storeOpsPerRequest,
    keepalive,
    countersLate: m.late,
  };
}

/**
 * Each container costs CPU with no request at all: Docker's healthcheck probes every app
 * every 3 s, Sentinel pings Redis, Redis replicates. A container's idle rate is what it used while the other
 * variant was under load (sticky's phase for the Redis stack, the Redis phases for the sticky one); the net
 * figures are the phase's CPU less that rate × the phase's length: what the requests themselves cost.
 * Sets each phase's idlePerS, net and perThousand.
 */
export function subtractIdle(phases: SteadyResult[]): void {
  const idle: Record<string, number> = {};
  for (const [variant, services] of Object.entries(STACK) as [Variant, (typeof STACK)[Variant]][]) {
    const others = phases.filter((p) => p.variant !== variant && (variant === 'sticky' || p.variant === 'sticky'));
    const wall = sum(others.map((p) => p.cpu.wallS));
    for (const service of [services.nginx, ...services.apps, ...services.redis]) {
      if (wall > 0) idle[service] = sum(others.map((p) => p.cpu.containers[service] ?? 0)) / wall;
    }
  }
  for (const p of phases) {
    const stack = STACK[p.variant as Variant];
    const net = (service: string) => Math.max(0, (p.cpu.containers[service] ?? 0) - (idle[service] ?? 0) * p.cpu.wallS);
    p.cpu.idlePerS = Object.fromEntries([stack.nginx, ...stack.apps, ...stack.redis].map((s) => [s, idle[s] ?? 0]));
    p.cpu.net = { nginx: net(stack.nginx), apps: sum(stack.apps.map(net)), redis: sum(stack.redis.map(net)), total: 0 };
    p.cpu.net.total = p.cpu.net.nginx + p.cpu.net.apps + p.cpu.net.redis;
    p.cpu.perThousand = p.requests ? (p.cpu.net.total / p.requests) * 1000 : 0;
  }
}

/** The CI gate on Redis commands per authenticated read: both store modes' reads-only phases, each measured and within the limit. */
export function gate(commandsPerRead: number | null, clusterCommandsPerRead: number | null): Gate {
  const within = (x: number | null) => x !== null && x <= GATE_COMMANDS_PER_READ;
  return { commandsPerRead, clusterCommandsPerRead, limit: GATE_COMMANDS_PER_READ, ok: within(commandsPerRead) && within(clusterCommandsPerRead) };
}
