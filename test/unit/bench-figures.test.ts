import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  bestRamp,
  coarseRates,
  cpuAt,
  cpuOverLoad,
  delta,
  fineRates,
  gate,
  rampSteps,
  rampVerdict,
  redisFigures,
  round10,
  steadyFigures,
  subtractIdle,
  valueAt,
  type StepLimits,
} from '../../loadtest/tools/bench/figures';
import type { BenchResults, Counters, CpuReading, K6Summary, Measured, RampRound, RampStep, SteadyResult } from '../../loadtest/tools/bench/types';

const LIMITS: StepLimits = { edgeTolerance: 2, p95BoundMs: 50, maxFailed: 0.001 };

const summary = (metrics: Record<string, Record<string, number>>, plan: Record<string, unknown> = {}): K6Summary => ({
  variant: 'redis',
  mix: '90 % reads',
  plan,
  k6: { metrics: Object.fromEntries(Object.entries(metrics).map(([name, values]) => [name, { values }])) },
});

const reading = (at: number, containers: Record<string, number>, k6: number | null = null, busy = 0, total = 0): CpuReading => ({ at, containers, k6, host: { busy, total } });

const step = (rate: number, ok: boolean, p95 = 10): RampStep => ({ rate, planned: rate, started: rate, dropped: 0, failedRate: 0, p50: 1, p95, p99: p95, ok });

describe('valueAt', () => {
  const points = [
    { at: 1000, value: 10 },
    { at: 2000, value: 30 },
    { at: 4000, value: 40 },
  ];

  test('interpolates linearly between the samples around t', () => {
    expect(valueAt(points, 1500)).toBe(20);
    expect(valueAt(points, 3000)).toBe(35);
  });

  test('is the sample itself at a sample time', () => {
    expect(valueAt(points, 2000)).toBe(30);
  });

  test('holds the first value before the first sample and the last one past the end', () => {
    expect(valueAt(points, 0)).toBe(10);
    expect(valueAt(points, 9000)).toBe(40);
  });

  test('is null without samples', () => {
    expect(valueAt([], 1000)).toBeNull();
  });
});

describe('cpuAt', () => {
  test('interpolates every container, k6 and the host at t', () => {
    const samples = [reading(0, { nginx: 0, 'app-1': 1 }, 0, 10, 100), reading(1000, { nginx: 2, 'app-1': 3 }, 4, 20, 200)];
    expect(cpuAt(samples, 250)).toEqual({ at: 250, containers: { nginx: 0.5, 'app-1': 1.5 }, k6: 1, host: { busy: 12.5, total: 125 } });
  });

  test("k6's figure stops with its last reading, and is null when it was never read", () => {
    const gone = [reading(0, {}, 1), reading(1000, {}, 3), reading(2000, {}, null)];
    expect(cpuAt(gone, 1800).k6).toBe(3);
    expect(cpuAt([reading(0, {}), reading(1000, {})], 500).k6).toBeNull();
  });

  test('a container missing from the later samples is held at its last reading', () => {
    const samples = [reading(0, { nginx: 1 }), reading(1000, {})];
    expect(cpuAt(samples, 800).containers.nginx).toBe(1);
  });
});

describe('cpuOverLoad', () => {
  const samples = [reading(900, { nginx: 0 }), reading(2100, { nginx: 12 })];

  test('reads the CPU at the load start k6 reported and at start + duration', () => {
    const [start, end] = cpuOverLoad('p', summary({ bench_load_start_ms: { value: 1000 } }), 1, samples);
    expect(start.at).toBe(1000);
    expect(start.containers.nginx).toBeCloseTo(1);
    expect(end.at).toBe(2000);
    expect(end.containers.nginx).toBeCloseTo(11);
  });

  test('throws when k6 did not report the start, or the samples do not cover the load', () => {
    expect(() => cpuOverLoad('p', summary({}), 1, samples)).toThrow('p: k6 did not report when the load started');
    expect(() => cpuOverLoad('p', summary({ bench_load_start_ms: { value: 1000 } }), 2, samples)).toThrow('p: the CPU samples do not cover the load');
    expect(() => cpuOverLoad('p', summary({ bench_load_start_ms: { value: 800 } }), 1, samples)).toThrow('do not cover');
    expect(() => cpuOverLoad('p', summary({ bench_load_start_ms: { value: 1000 } }), 1, samples.slice(0, 1))).toThrow('do not cover');
  });
});

describe('rampSteps', () => {
  const metrics = (i: number, count: number, p95: number, failed = 0): Record<string, Record<string, number>> => ({
    [`http_reqs{step:${i}}`]: { count },
    [`http_req_failed{step:${i}}`]: { rate: failed },
    [`http_req_duration{step:${i}}`]: { med: p95 / 2, 'p(95)': p95, 'p(99)': p95 * 2 },
  });

  test('judges each reached step: dropped within the edge tolerance, p95 within the bound, failures within the share', () => {
    const s = summary({ ...metrics(0, 298, 20), ...metrics(1, 400, 20), ...metrics(2, 600, 51), ...metrics(3, 800, 20, 0.01) }, { rates: [100, 200, 300, 400], holdS: 3 });
    const steps = rampSteps(s, LIMITS);
    expect(steps.map((x) => [x.rate, x.dropped, x.ok])).toEqual([
      [100, 2, true],
      [200, 200, false],
      [300, 300, false],
      [400, 400, false],
    ]);
    expect(steps[0]).toEqual({ rate: 100, planned: 300, started: 298, dropped: 2, failedRate: 0, p50: 10, p95: 20, p99: 40, ok: true });
  });

  test('a step at the p95 bound and the failure share is still sustainable; one more iteration short is not', () => {
    const s = summary({ ...metrics(0, 30, 50, 0.001), ...metrics(1, 57, 10) }, { rates: [10, 20], holdS: 3 });
    expect(rampSteps(s, LIMITS).map((x) => x.ok)).toEqual([true, false]);
  });

  test('leaves out the steps the run never reached, and never counts more started than planned as dropped', () => {
    const s = summary({ ...metrics(0, 350, 5) }, { rates: [100, 200], holdS: 3 });
    expect(rampSteps(s, LIMITS)).toEqual([expect.objectContaining({ rate: 100, dropped: 0, ok: true })]);
  });
});

describe('staircase rates', () => {
  test('round10 rounds to tens, never below 10', () => {
    expect([round10(4), round10(15), round10(24.9), round10(1234)]).toEqual([10, 20, 20, 1230]);
  });

  test('the coarse staircase multiplies from its start up to 5000 requests/s', () => {
    const rates = coarseRates({ start: 100, factor: 1.6, rampS: 1, holdS: 3 });
    expect(rates.slice(0, 4)).toEqual([100, 160, 260, 410]);
    expect(rates.at(-1)).toBe(4290);
    expect(rates).toHaveLength(9);
  });

  test('the fine staircase covers from..to × the knee in steps, without repeats', () => {
    expect(fineRates(100, { from: 0.9, to: 1.6, step: 0.05, rampS: 2, holdS: 8 })).toEqual([90, 100, 110, 120, 130, 140, 150, 160]);
    expect(fineRates(1000, { from: 0.9, to: 1.0, step: 0.05, rampS: 2, holdS: 8 })).toEqual([900, 950, 1000]);
  });
});

describe('rampVerdict', () => {
  const pass = (kind: string, steps: RampStep[]) => ({ kind, rampS: 1, holdS: 3, steps });

  test('the fine pass decides; the first failing step is the lowest failed one above the maximum', () => {
    const verdict = rampVerdict([pass('coarse', [step(100, true), step(200, false)]), pass('fine', [step(150, true), step(170, false), step(160, true), step(140, false)])]);
    expect(verdict).toEqual({ sustainable: 160, censored: false, firstFailing: step(170, false) });
  });

  test('the coarse pass counts when nothing in the fine one held', () => {
    expect(rampVerdict([pass('coarse', [step(100, true)]), pass('fine', [step(90, false)])]).sustainable).toBe(100);
  });

  test('censored when nothing above the maximum failed: the staircase ended first', () => {
    expect(rampVerdict([pass('coarse', [step(100, true), step(200, true)])])).toEqual({ sustainable: 200, censored: true, firstFailing: null });
  });

  test('no sustainable step: none, not censored', () => {
    expect(rampVerdict([pass('coarse', [step(100, false)])])).toEqual({ sustainable: null, censored: false, firstFailing: step(100, false) });
  });
});

describe('bestRamp', () => {
  const round = (sustainable: number | null, censored = false): RampRound => ({ sustainable, censored, firstFailing: null, passes: [] });

  test("takes the round with the highest sustainable rate, and its censoring", () => {
    const result = bestRamp('redis', 'redis', 3, [round(300), round(420, true), round(380)]);
    expect(result).toMatchObject({ name: 'redis', variant: 'redis', apps: 3, sustainable: 420, censored: true, best: 1 });
    expect(result.rounds).toHaveLength(3);
  });

  test('the first of equal rounds, and a round with none counts as 0', () => {
    expect(bestRamp('s', 'sticky', 3, [round(null), round(200), round(200)]).best).toBe(1);
    expect(bestRamp('s', 'sticky', 3, [round(null), round(null)])).toMatchObject({ sustainable: null, best: 0 });
  });
});

describe('delta', () => {
  test('is b − a per key, over the keys of both, without the zeros', () => {
    expect(delta({ get: 10, set: 5, del: 1 }, { get: 15, set: 5, evalsha: 3 })).toEqual({ get: 5, del: -1, evalsha: 3 });
  });
});

const counters = (commands: Record<string, number>, connections: number, requests: Record<string, number>, storeOps: Record<string, number>): Counters => ({
  commands,
  apps: Object.fromEntries(['app-1', 'app-2', 'app-3'].map((app) => [app, { connections, requests, storeOps }])),
});

describe('redisFigures', () => {
  const before = counters({ get: 100, ping: 50, 'client|setname': 1 }, 0, {}, {});
  const after = counters({ get: 1150, ping: 80, 'client|setname': 2, evalsha: 10 }, 0, {}, {});

  test("counts the apps' commands only, per request, and per read when every request was a read", () => {
    expect(redisFigures('redis', [before, after], 1000, 1000)).toEqual({ commands: { get: 1050, ping: 30, 'client|setname': 1, evalsha: 10 }, appCommands: 1060, liveCommands: 0, perRequest: 1.06, perRead: 1.06 });
  });

  test("takes the live view's own commands (each app's sc_live_redis_commands_total) off the apps'", () => {
    const beating = (c: Counters, live: number): Counters => ({ ...c, apps: Object.fromEntries(Object.entries(c.apps).map(([app, counted]) => [app, { ...counted, liveCommands: live }])) });

    const result = redisFigures('redis', [beating(before, 100), beating(after, 120)], 1000, 1000);

    expect(result).toMatchObject({ liveCommands: 60, appCommands: 1000, perRead: 1 });
  });

  test('no per-read figure for a mixed phase, none at all for sticky, and 0 per request without requests', () => {
    expect(redisFigures('redis', [before, after], 1000, 900)?.perRead).toBeNull();
    expect(redisFigures('sticky', [before, after], 1000, 1000)).toBeNull();
    expect(redisFigures('redis', [before, after], 0, 0)).toMatchObject({ perRequest: 0, perRead: null });
  });

  test("cluster mode: the clients' slot-map refreshes (CLUSTER SLOTS) are not the apps' requests' commands", () => {
    const b = counters({ get: 0, 'cluster|slots': 4, 'cluster|info': 1 }, 0, {}, {});
    const a = counters({ get: 500, 'cluster|slots': 10, 'cluster|info': 2, asking: 1 }, 0, {}, {});
    expect(redisFigures('cluster', [b, a], 500, 500)).toMatchObject({ appCommands: 501, perRead: 1.002 });
  });
});

describe('steadyFigures', () => {
  const k6 = summary({
    'http_reqs{kind:bench}': { count: 1000 },
    'http_reqs{op:read}': { count: 900 },
    'http_reqs{op:write}': { count: 100 },
    'http_req_failed{kind:bench}': { passes: 2 },
    dropped_iterations: { count: 1 },
    'http_req_duration{kind:bench}': { med: 2, 'p(95)': 5, 'p(99)': 8, max: 20 },
    'http_req_duration{op:read}': { 'p(95)': 4 },
    'http_req_duration{op:write}': { 'p(95)': 9 },
  });
  const measured: Measured = {
    counters: [counters({ get: 0 }, 10, { '/api/session': 0, '/readyz': 0 }, { get: 0 }), counters({ get: 1000 }, 12, { '/api/session': 334, '/readyz': 5, '/metrics': 1 }, { get: 300 })],
    cpu: [reading(0, { nginx: 1, 'app-1': 1, 'redis-primary': 1, 'sentinel-1': 0 }, 0, 0, 0), reading(10_000, { nginx: 2, 'app-1': 3, 'redis-primary': 1.5, 'sentinel-1': 0.5 }, 1, 6, 20)],
    late: false,
  };
  const result = steadyFigures({ name: 'redis-1', variant: 'redis', round: 1, rate: 100, durationS: 10 }, k6, measured);

  test('keeps the shape of the published results, key for key', () => {
    const published = JSON.parse(readFileSync(path.resolve(__dirname, '../../docs/reports/bench-2026-11-23.json'), 'utf8')) as BenchResults;
    const phase = published.equalLoad.phases[0]!;
    expect(Object.keys(result)).toEqual(Object.keys(phase));
    expect(Object.keys(result.cpu)).toEqual(Object.keys(phase.cpu));
  });

  test('requests, latency and CPU over the load; "other" is the machine less every container (the Sentinels too) and k6', () => {
    expect(result).toMatchObject({ requests: 1000, reads: 900, writes: 100, failed: 2, dropped: 1, mix: '90 % reads' });
    expect(result.latencyMs).toEqual({ p50: 2, p95: 5, p99: 8, max: 20, readP95: 4, writeP95: 9 });
    expect(result.cpu).toMatchObject({ wallS: 10, stack: { nginx: 1, apps: 2, redis: 0.5, total: 3.5 }, perThousandGross: 3.5, k6: 1, hostBusy: 6, other: 1 });
  });

  test("keep-alive: each app's one probe connection and the probe's and healthchecks' requests left out", () => {
    expect(result.keepalive).toEqual({ connections: 3, requests: 1002, reuse: 1 - 3 / 1002 });
    expect(result.storeOpsPerRequest).toEqual({ get: 0.9 });
  });
});

describe('subtractIdle', () => {
  const phase = (name: string, variant: string, containers: Record<string, number>, requests = 1000): SteadyResult =>
    ({ name, variant, requests, cpu: { wallS: 10, containers, idlePerS: {}, net: { nginx: 0, apps: 0, redis: 0, total: 0 }, perThousand: 0 } }) as unknown as SteadyResult;

  test("takes off each container's rate while the other variant was under load", () => {
    const sticky = phase('sticky-1', 'sticky', { 'nginx-sticky': 5, 'sticky-1': 3, nginx: 0.5, 'app-1': 1, 'redis-primary': 0.2 });
    const redis = phase('redis-1', 'redis', { 'nginx-sticky': 0.1, 'sticky-1': 0.2, nginx: 4, 'app-1': 6, 'redis-primary': 2 });
    subtractIdle([sticky, redis]);
    expect(redis.cpu.idlePerS).toMatchObject({ nginx: 0.05, 'app-1': 0.1, 'redis-primary': 0.02, 'app-2': 0 });
    expect(redis.cpu.net.nginx).toBeCloseTo(3.5);
    expect(redis.cpu.net.apps).toBeCloseTo(5);
    expect(redis.cpu.net.redis).toBeCloseTo(1.8);
    expect(redis.cpu.net.total).toBeCloseTo(10.3);
    expect(redis.cpu.perThousand).toBeCloseTo(10.3);
    expect(sticky.cpu.net).toMatchObject({ nginx: expect.closeTo(4.9), apps: expect.closeTo(2.8), redis: 0 });
  });

  test("the cluster variant's containers: their idle rate while sticky was under load, not while the Sentinel variant was", () => {
    const sticky = phase('sticky-1', 'sticky', { 'nginx-cluster': 0.2, 'cluster-app-1': 0.5, 'redis-node-1': 0.3, 'nginx-sticky': 4 });
    const redis = phase('redis-1', 'redis', { 'nginx-cluster': 1, 'cluster-app-1': 1, 'redis-node-1': 1, nginx: 4 });
    const cluster = phase('cluster-1', 'cluster', { 'nginx-cluster': 4, 'cluster-app-1': 6, 'redis-node-1': 2, 'nginx-sticky': 0.1 });
    subtractIdle([sticky, redis, cluster]);
    expect(cluster.cpu.idlePerS).toMatchObject({ 'nginx-cluster': 0.02, 'cluster-app-1': 0.05, 'redis-node-1': 0.03 });
    expect(cluster.cpu.net).toMatchObject({ nginx: expect.closeTo(3.8), apps: expect.closeTo(5.5), redis: expect.closeTo(1.7) });
    // sticky's idle comes from every other variant's phases: (0.1 + 0) / 20 s
    expect(sticky.cpu.idlePerS['nginx-sticky']).toBeCloseTo(0.005);
  });

  test('never below 0, and 0 per thousand without requests', () => {
    const sticky = phase('sticky-1', 'sticky', { 'nginx-sticky': 0, nginx: 9 }, 0);
    const redis = phase('redis-1', 'redis', { nginx: 1 });
    subtractIdle([sticky, redis]);
    expect(redis.cpu.net.nginx).toBe(0);
    expect(sticky.cpu.perThousand).toBe(0);
  });

  test('without a phase of the other variant, no idle rate is known: the net figure is the gross', () => {
    const redis = phase('redis-1', 'redis', { nginx: 4 });
    subtractIdle([redis]);
    expect(redis.cpu.idlePerS.nginx).toBe(0);
    expect(redis.cpu.net.nginx).toBe(4);
  });
});

describe('gate', () => {
  test('passes at or below 1.05 Redis commands per read in both store modes, fails above it in either or when either is not measured', () => {
    expect(gate(1.05, 1.05)).toEqual({ commandsPerRead: 1.05, clusterCommandsPerRead: 1.05, limit: 1.05, ok: true });
    expect(gate(1, 1).ok).toBe(true);
    expect(gate(1.0501, 1).ok).toBe(false);
    expect(gate(1, 1.0501).ok).toBe(false);
    expect(gate(null, 1)).toEqual({ commandsPerRead: null, clusterCommandsPerRead: 1, limit: 1.05, ok: false });
    expect(gate(1, null).ok).toBe(false);
  });
});
