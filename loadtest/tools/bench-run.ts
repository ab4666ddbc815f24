// The benchmark's phases against a running compose project (loadtest/bench.sh brings one up and down):
//
//   1. ramps (loadtest/bench/01.ramp.ts): the maximum sustainable rate of the sticky variant, the Redis
//      variant and the no-session baseline (GET /api/ping on the Redis variant's apps) — a coarse staircase
//      to find the knee, then a fine one from just below it
//   2. equal load (02.steady.ts): every variant at 50 % of the sticky maximum — latency, CPU-seconds per
//      1000 requests, Redis commands per request, nginx's upstream keep-alive reuse; then the Redis variant
//      with reads only, for Redis commands per authenticated read
//   3. scaling: the Redis variant's ramp again with app-3 stopped, then app-2 too (nginx re-resolves names);
//      run right after the Redis ramp, before the baseline's, so the three are measured close together
//
// Writes every k6 run into .artifacts/bench/<time>/<phase>/, the figures as <out>.json, and the report
// (tools/bench-report.ts) as <out>.md and <out>.svg. Exits 1 when Redis commands per authenticated read
// exceed 1.05 or a phase did not run; the other goals are reported, not enforced (docs/benchmarks.md).
//
//   npx tsx loadtest/tools/bench-run.ts --project scbench [--short] [--out docs/reports/bench-2026-11-23]
//   npx tsx loadtest/tools/bench-run.ts --report-only docs/reports/bench-2026-11-23.json   # re-render
//
// Environment: K6_RUNNER (docker | binary), K6, HTTP_PORT, STICKY_HTTP_PORT (as bench.sh sets them), and
// BENCH_P95_MS, BENCH_ROUNDS, BENCH_VUS, BENCH_SESSIONS, BENCH_WRITE_EVERY, BENCH_STEADY_S (the equal-load
// phases' duration), BENCH_EQUAL_RATE (their rate, instead of 50 % of sticky's maximum) (docs/benchmarks.md).
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { appCounters, BACKGROUND_COMMANDS, commandStats, containerOf, cpuSource, docker, readCpu, redisPrimaryService, type AppCounters, type CpuReading } from './bench-probe.ts';
import { writeReport, type BenchResults, type RampResult, type RampRound, type RampStep, type SteadyResult } from './bench-report.ts';

const root = path.resolve(import.meta.dirname, '../..');
const { values: args } = parseArgs({
  options: {
    project: { type: 'string', default: process.env.COMPOSE_PROJECT_NAME || 'scbench' },
    short: { type: 'boolean', default: false },
    out: { type: 'string' },
    'report-only': { type: 'string' },
  },
});

const say = (message: string) => console.error(`[bench] ${message}`);

if (args['report-only']) {
  const results = JSON.parse(readFileSync(args['report-only'], 'utf8')) as BenchResults;
  const out = args.out ?? args['report-only'].replace(/\.json$/, '');
  writeReport(results, out);
  say(`${out}.md, ${out}.svg`);
  process.exit(0);
}

const project = args.project;
const short = args.short;
const runner = process.env.K6_RUNNER === 'binary' ? 'binary' : 'docker';
const httpPort = process.env.HTTP_PORT || '8080';
const stickyPort = process.env.STICKY_HTTP_PORT || '8081';

const num = (name: string, fallback: number) => {
  const value = Number(process.env[name] || fallback);
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a number, not "${process.env[name]}"`);
  return value;
};

/** The latency bound of "sustainable": p95 of the step's requests, in ms. */
const P95_BOUND_MS = num('BENCH_P95_MS', 50);
/** A step's iterations may fall short of rate × hold by this many: the VU clock and the executor's split the edges. */
const EDGE_TOLERANCE = 2;
/** Failed requests a sustainable step may have, as a share. */
const MAX_FAILED = 0.001;
const GATE_COMMANDS_PER_READ = 1.05;
/**
 * Every ramp and every equal-load phase runs this many times, sticky and Redis alternating, and the report
 * takes each one's best round: the machine's other work only ever lowers a rate or raises a latency.
 */
const ROUNDS = Math.max(1, Math.round(num('BENCH_ROUNDS', short ? 1 : 2)));

const K6_ENV = {
  VUS: num('BENCH_VUS', 100),
  SESSIONS: num('BENCH_SESSIONS', 30),
  WRITE_EVERY: num('BENCH_WRITE_EVERY', 10),
  GAP_S: short ? 2 : 3,
};

// Rates in requests/s; the coarse staircase multiplies by `factor` from `start`, the fine one covers
// `from`..`to` × the coarse knee in `step`s. A ramp stops once `dropAbort` iterations have been dropped.
const PLAN = short
  ? {
      coarse: { start: 100, factor: 1.6, rampS: 1, holdS: 3 },
      fine: null,
      dropAbort: 50,
      steadyS: num('BENCH_STEADY_S', 8),
      readsS: 8,
      baselineRamp: false,
      scaling: false,
    }
  : {
      coarse: { start: 50, factor: 1.3, rampS: 2, holdS: 5 },
      fine: { from: 0.9, to: 1.6, step: 0.05, rampS: 2, holdS: 8 },
      dropAbort: 200,
      steadyS: num('BENCH_STEADY_S', 60),
      readsS: 30,
      baselineRamp: true,
      scaling: true,
    };

type Variant = 'baseline' | 'sticky' | 'redis';

/** The containers each variant's CPU is summed over: its nginx, its apps, and (Redis variant, baseline) Redis. */
const STACK: Record<Variant, { nginx: string; apps: string[]; redis: string[] }> = {
  sticky: { nginx: 'nginx-sticky', apps: ['sticky-1', 'sticky-2', 'sticky-3'], redis: [] },
  redis: { nginx: 'nginx', apps: ['app-1', 'app-2', 'app-3'], redis: ['redis-primary', 'redis-replica'] },
  baseline: { nginx: 'nginx', apps: ['app-1', 'app-2', 'app-3'], redis: ['redis-primary', 'redis-replica'] },
};
const SERVICES = ['nginx', 'app-1', 'app-2', 'app-3', 'redis-primary', 'redis-replica', 'sentinel-1', 'sentinel-2', 'sentinel-3', 'nginx-sticky', 'sticky-1', 'sticky-2', 'sticky-3'];

const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
const runDir = path.join(root, '.artifacts/bench', `${stamp}${short ? '-short' : ''}`);
const out = args.out ?? (short ? path.join(runDir, 'bench') : path.join(root, 'docs/reports', `bench-${new Date().toISOString().slice(0, 10)}`));
mkdirSync(runDir, { recursive: true });

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

/** The compose plugin (Compose v2) when Docker has it, else docker-compose 1.29: the two read the file alike. */
const composeV2 = process.env.SC_COMPOSE === 'v2' || (process.env.SC_COMPOSE !== 'v1' && spawnSync('docker', ['compose', 'version'], { stdio: 'ignore' }).status === 0);
const compose = composeV2 ? ['docker', 'compose'] : ['docker-compose'];

function k6Binary(): string {
  if (process.env.K6) return process.env.K6;
  const which = spawnSync('sh', ['-c', 'command -v k6'], { encoding: 'utf8' });
  if (which.status === 0 && which.stdout.trim()) return which.stdout.trim();
  return spawnSync('bash', [path.join(root, '.ci/k6.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).stdout.trim();
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

// ---- containers --------------------------------------------------------------------------------------

function containers(): Record<string, string> {
  const ids: Record<string, string> = {};
  for (const service of SERVICES) {
    const id = containerOf(project, service);
    if (id) ids[service] = id;
  }
  return ids;
}

let ids = containers();
for (const service of SERVICES) if (!ids[service]) throw new Error(`no running ${service} in compose project ${project}: bring it up with --profile sticky (loadtest/bench.sh does)`);
const primary = redisPrimaryService(project);

// ---- k6 ----------------------------------------------------------------------------------------------

interface K6Metric {
  values: Record<string, number>;
}
interface K6Summary {
  variant: Variant;
  mix: string;
  plan: Record<string, unknown>;
  k6: { metrics: Record<string, K6Metric> };
}

/** What bench-run reads around a steady phase: counters in the idle gap before the load and after k6 ends, CPU at the load's edges. */
interface Measured {
  counters: [Counters, Counters];
  cpu: [CpuReading, CpuReading];
  /** The counters before the load were read after it had started: the figures that use them are off. */
  late: boolean;
}

interface Counters {
  commands: Record<string, number>;
  apps: Record<string, AppCounters>;
}

function counters(variant: Variant): Counters {
  const stack = STACK[variant];
  return { commands: commandStats(ids[primary]!), apps: appCounters(ids[stack.nginx]!, stack.apps) };
}

/** k6's run status (REST API): 7 = the scenarios run (after setup()). Null once k6 has gone. */
async function waitForRunning(api: number, exited: () => boolean): Promise<number | null> {
  while (!exited()) {
    try {
      const res = await fetch(`http://127.0.0.1:${api}/v1/status`);
      const status = ((await res.json()) as { data: { attributes: { status: number } } }).data.attributes.status;
      if (status === 7) return Date.now();
      if (status > 7) return null;
    } catch {
      // not listening yet
    }
    await sleep(50);
  }
  return null;
}

async function runK6(phase: string, script: string, env: Record<string, string | number>, measure?: { variant: Variant; durationS: number }): Promise<{ summary: K6Summary; measured?: Measured }> {
  const dir = path.join(runDir, phase);
  mkdirSync(dir, { recursive: true });
  const api = await freePort();
  // The docker runner's container, named so that its CPU can be read (one-off containers get a random suffix).
  const k6Name = `${project}_k6_bench_${phase}_${Date.now()}`;
  const envArgs = Object.entries({ ...K6_ENV, ...env }).flatMap(([k, v]) => ['-e', `${k}=${v}`]);
  const [cmd, ...pre] = runner === 'docker' ? compose : [k6Binary()];
  const argv =
    runner === 'docker'
      ? // Inside the project's network, as the loadtest profile runs: k6 → nginx directly (BASE_URL=http://nginx).
        [...pre, '--profile', 'loadtest', 'run', '--rm', '--no-deps', '-T', '--name', k6Name, '--user', `${process.getuid?.() ?? 0}:${process.getgid?.() ?? 0}`,
          '--publish', `127.0.0.1:${api}:6565`, '-e', `RESULTS_DIR=/results/${phase}`, '-e', 'K6_WEB_DASHBOARD=false',
          'k6', 'run', '--quiet', '--address', '0.0.0.0:6565', ...envArgs, `/scripts/bench/${script}`]
      : ['run', '--quiet', '--address', `127.0.0.1:${api}`, '-e', `BASE_URL=http://127.0.0.1:${httpPort}`, '-e', `STICKY_URL=http://127.0.0.1:${stickyPort}`,
          ...envArgs, path.join(root, 'loadtest/bench', script)];
  say(`${phase}: ${script} ${Object.entries(env).map(([k, v]) => `${k}=${v}`).join(' ')}`);
  const child = spawn(cmd!, argv, {
    cwd: root,
    env: { ...process.env, LOADTEST_RESULTS: runDir, RESULTS_DIR: dir, K6_WEB_DASHBOARD: 'false', K6_NO_USAGE_REPORT: 'true' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log = createWriteStream(path.join(dir, 'k6.log'));
  child.stdout.on('data', (chunk: Buffer) => {
    log.write(chunk);
    process.stderr.write(chunk);
  });
  child.stderr.on('data', (chunk: Buffer) => log.write(chunk));
  let done = false;
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => ((done = true), resolve(code))));

  // Counters once the scenarios are about to run (k6 status "running" starts the idle gap) and again once k6
  // has gone; CPU every 200 ms meanwhile, interpolated afterwards to the load's own start and end.
  let before: Counters | undefined;
  let beforeAt = 0;
  const samples: CpuReading[] = [];
  if (measure) {
    const running = await waitForRunning(api, () => done);
    if (running !== null) {
      const k6 = runner === 'docker' ? { container: docker('inspect', '-f', '{{.Id}}', k6Name) } : { pid: child.pid };
      before = counters(measure.variant);
      beforeAt = Date.now();
      while (!done) {
        samples.push(readCpu(ids, k6));
        await sleep(200);
      }
    }
  }
  const code = await exited;
  log.end();
  const file = path.join(dir, 'summary.json');
  if (!existsSync(file)) throw new Error(`${phase}: k6 exited ${code} without a summary (see ${path.join(dir, 'k6.log')})`);
  // 99: a threshold failed — here only the ramp's abort on dropped iterations, which is how a ramp ends.
  if (code !== 0 && code !== 99) throw new Error(`${phase}: k6 exited ${code} (see ${path.join(dir, 'k6.log')})`);
  const summary = JSON.parse(readFileSync(file, 'utf8')) as K6Summary;
  if (!measure) return { summary };
  if (!before) throw new Error(`${phase}: k6 never reported its scenarios running`);
  const start = metric(summary, 'bench_load_start_ms', 'value');
  if (!start) throw new Error(`${phase}: k6 did not report when the load started`);
  const end = start + measure.durationS * 1000;
  if (samples.length < 2 || samples[0]!.at > start || samples.at(-1)!.at < end) throw new Error(`${phase}: the CPU samples do not cover the load`);
  const measured: Measured = { counters: [before, counters(measure.variant)], cpu: [cpuAt(samples, start), cpuAt(samples, end)], late: beforeAt > start };
  return { summary, measured };
}

/** A cumulative counter at `t`, interpolated between the samples around it; held at the last one past the end. */
function valueAt(points: { at: number; value: number }[], t: number): number | null {
  if (points.length === 0) return null;
  const i = points.findIndex((p) => p.at >= t);
  if (i === -1) return points.at(-1)!.value;
  if (i === 0) return points[0]!.value;
  const a = points[i - 1]!;
  const b = points[i]!;
  return a.value + ((b.value - a.value) * (t - a.at)) / (b.at - a.at);
}

/** The CPU reading at `t`, from the 200 ms samples. k6's own container is gone in the last samples: its figure stops with it. */
function cpuAt(samples: CpuReading[], t: number): CpuReading {
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

const metric = (s: K6Summary, name: string, stat: string) => s.k6.metrics[name]?.values[stat] ?? 0;

// ---- ramps -------------------------------------------------------------------------------------------

const round10 = (x: number) => Math.max(10, Math.round(x / 10) * 10);

function rampSteps(summary: K6Summary): RampStep[] {
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
    step.ok = step.dropped <= EDGE_TOLERANCE && step.p95 <= P95_BOUND_MS && step.failedRate <= MAX_FAILED;
    steps.push(step);
  });
  return steps;
}

/** One ramp: the coarse staircase, then the fine one from just below its knee. */
async function rampRound(phase: string, variant: Variant): Promise<RampRound> {
  const c = PLAN.coarse;
  const coarseRates: number[] = [];
  for (let r = c.start; r <= 5000; r *= c.factor) coarseRates.push(round10(r));
  const coarse = rampSteps((await runK6(`${phase}-coarse`, '01.ramp.ts', { BENCH_VARIANT: variant, RATES: coarseRates.join(','), RAMP_S: c.rampS, HOLD_S: c.holdS, DROP_ABORT: PLAN.dropAbort })).summary);
  const passes = [{ kind: 'coarse', rampS: c.rampS, holdS: c.holdS, steps: coarse }];
  const best = (steps: RampStep[]) => Math.max(0, ...steps.filter((s) => s.ok).map((s) => s.rate));
  if (PLAN.fine) {
    const f = PLAN.fine;
    const knee = best(coarse) || c.start;
    const rates = [...new Set(Array.from({ length: Math.round((f.to - f.from) / f.step) + 1 }, (_, i) => round10(knee * (f.from + i * f.step))))];
    const fine = rampSteps((await runK6(`${phase}-fine`, '01.ramp.ts', { BENCH_VARIANT: variant, RATES: rates.join(','), RAMP_S: f.rampS, HOLD_S: f.holdS, DROP_ABORT: PLAN.dropAbort })).summary);
    passes.push({ kind: 'fine', rampS: f.rampS, holdS: f.holdS, steps: fine });
  }
  // The fine pass decides (longer holds, finer steps); the coarse one only when nothing in the fine one held.
  const sustainable = best(passes.at(-1)!.steps) || best(coarse) || null;
  const all = passes.flatMap((p) => p.steps);
  const firstFailing = all.filter((s) => !s.ok && s.rate > (sustainable ?? 0)).sort((a, b) => a.rate - b.rate)[0] ?? null;
  // Nothing above the maximum failed: the staircase ended first, and the real maximum is higher.
  const censored = sustainable !== null && firstFailing === null;
  say(`${phase}: sustainable ${censored ? '≥ ' : ''}${sustainable ?? 'none'} requests/s${firstFailing ? ` (${firstFailing.rate}: p95 ${firstFailing.p95.toFixed(1)} ms, dropped ${firstFailing.dropped})` : ''}`);
  return { sustainable, censored, firstFailing, passes };
}

/** A configuration's figure: its best round. */
function bestRamp(name: string, variant: Variant, apps: number, rounds: RampRound[]): RampResult {
  const best = rounds.reduce((b, r, i) => ((r.sustainable ?? 0) > (rounds[b]!.sustainable ?? 0) ? i : b), 0);
  return { name, variant, apps, sustainable: rounds[best]!.sustainable, censored: rounds[best]!.censored, best, rounds };
}

async function ramp(name: string, variant: Variant, apps: number): Promise<RampResult> {
  const rounds: RampRound[] = [];
  for (let k = 1; k <= ROUNDS; k++) rounds.push(await rampRound(`${name}-${k}`, variant));
  return bestRamp(name, variant, apps, rounds);
}

// ---- steady phases -----------------------------------------------------------------------------------

function delta(a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  const d: Record<string, number> = {};
  for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const v = (b[key] ?? 0) - (a[key] ?? 0);
    if (v !== 0) d[key] = v;
  }
  return d;
}

async function steady(name: string, variant: Variant, round: number | null, rate: number, durationS: number, writeEvery = K6_ENV.WRITE_EVERY): Promise<SteadyResult> {
  const { summary, measured } = await runK6(name, '02.steady.ts', { BENCH_VARIANT: variant, RATE: rate, DURATION: `${durationS}s`, WRITE_EVERY: writeEvery }, { variant, durationS });
  const m = measured!;
  const requests = metric(summary, 'http_reqs{kind:bench}', 'count');
  const reads = metric(summary, 'http_reqs{op:read}', 'count');
  const stack = STACK[variant];

  const [cpu0, cpu1] = m.cpu;
  const cpu = delta(cpu0.containers, cpu1.containers);
  const stackServices = [stack.nginx, ...stack.apps, ...stack.redis];
  const stackCpu = stackServices.reduce((sum, s) => sum + (cpu[s] ?? 0), 0);
  const projectCpu = Object.values(cpu).reduce((a, b) => a + b, 0);
  const k6Cpu = cpu0.k6 !== null && cpu1.k6 !== null ? cpu1.k6 - cpu0.k6 : null;
  const hostBusy = cpu1.host.busy - cpu0.host.busy;
  const wallS = (cpu1.at - cpu0.at) / 1000;

  const commands = delta(m.counters[0].commands, m.counters[1].commands);
  const appCommands = Object.entries(commands).filter(([name]) => !BACKGROUND_COMMANDS.test(name)).reduce((sum, [, n]) => sum + n, 0);

  const storeOps: Record<string, number> = {};
  let connections = 0;
  let served = 0;
  for (const app of stack.apps) {
    const a = m.counters[0].apps[app];
    const b = m.counters[1].apps[app];
    if (!a || !b) continue;
    // The probe's own fetch after the load is one connection from nginx's address; its request (and the one
    // before the load) is on /metrics, left out below with the healthchecks' /readyz.
    connections += b.connections - a.connections - 1;
    for (const [route, n] of Object.entries(delta(a.requests, b.requests))) if (route !== '/readyz' && route !== '/metrics') served += n;
    for (const [op, n] of Object.entries(delta(a.storeOps, b.storeOps))) storeOps[op] = (storeOps[op] ?? 0) + n;
  }

  const result: SteadyResult = {
    name,
    variant,
    round,
    mix: summary.mix,
    rate,
    durationS,
    requests,
    reads,
    writes: metric(summary, 'http_reqs{op:write}', 'count'),
    failed: metric(summary, 'http_req_failed{kind:bench}', 'passes'),
    dropped: metric(summary, 'dropped_iterations', 'count'),
    latencyMs: {
      p50: metric(summary, 'http_req_duration{kind:bench}', 'med'),
      p95: metric(summary, 'http_req_duration{kind:bench}', 'p(95)'),
      p99: metric(summary, 'http_req_duration{kind:bench}', 'p(99)'),
      max: metric(summary, 'http_req_duration{kind:bench}', 'max'),
      readP95: metric(summary, 'http_req_duration{op:read}', 'p(95)'),
      writeP95: metric(summary, 'http_req_duration{op:write}', 'p(95)'),
    },
    cpu: {
      wallS,
      containers: cpu,
      stack: {
        nginx: cpu[stack.nginx] ?? 0,
        apps: stack.apps.reduce((sum, s) => sum + (cpu[s] ?? 0), 0),
        redis: stack.redis.reduce((sum, s) => sum + (cpu[s] ?? 0), 0),
        total: stackCpu,
      },
      perThousandGross: requests ? (stackCpu / requests) * 1000 : 0,
      // Set by subtractIdle once every phase has run.
      idlePerS: {},
      net: { nginx: 0, apps: 0, redis: 0, total: 0 },
      perThousand: 0,
      k6: k6Cpu,
      hostBusy,
      // Everything else on the machine: other jobs, dockerd, the kernel's share of the bridge networking.
      other: hostBusy - projectCpu - (k6Cpu ?? 0),
    },
    redis: variant === 'sticky' ? null : { commands, appCommands, perRequest: requests ? appCommands / requests : 0, perRead: reads && reads === requests ? appCommands / reads : null },
    storeOpsPerRequest: Object.fromEntries(Object.entries(storeOps).map(([op, n]) => [op, requests ? n / requests : 0])),
    keepalive: { connections, requests: served, reuse: served ? 1 - connections / served : null },
    countersLate: m.late,
  };
  say(
    `${name}: ${requests} requests at ${rate}/s, p50/p95/p99 ${result.latencyMs.p50.toFixed(1)}/${result.latencyMs.p95.toFixed(1)}/${result.latencyMs.p99.toFixed(1)} ms, ` +
      `${result.cpu.perThousandGross.toFixed(2)} CPU-s per 1000 (gross), keep-alive reuse ${result.keepalive.reuse === null ? '?' : (result.keepalive.reuse * 100).toFixed(2)} %` +
      (result.redis ? `, Redis commands per request ${result.redis.perRequest.toFixed(3)}` : ''),
  );
  return result;
}

/**
 * Each container costs CPU with no request at all: Docker's healthcheck starts a node process in every app
 * every 3 s, Sentinel pings Redis, Redis replicates. A container's idle rate is what it used while the other
 * variant was under load (sticky's phase for the Redis stack, the Redis phases for the sticky one); the net
 * figures are the phase's CPU less that rate × the phase's length: what the requests themselves cost.
 */
function subtractIdle(phases: SteadyResult[]): void {
  const idle: Record<string, number> = {};
  for (const [variant, services] of Object.entries(STACK) as [Variant, (typeof STACK)[Variant]][]) {
    const others = phases.filter((p) => p.variant !== variant && (variant === 'sticky' || p.variant === 'sticky'));
    const wall = others.reduce((sum, p) => sum + p.cpu.wallS, 0);
    for (const service of [services.nginx, ...services.apps, ...services.redis]) {
      if (wall > 0) idle[service] = others.reduce((sum, p) => sum + (p.cpu.containers[service] ?? 0), 0) / wall;
    }
  }
  for (const p of phases) {
    const stack = STACK[p.variant as Variant];
    const net = (service: string) => Math.max(0, (p.cpu.containers[service] ?? 0) - (idle[service] ?? 0) * p.cpu.wallS);
    p.cpu.idlePerS = Object.fromEntries([stack.nginx, ...stack.apps, ...stack.redis].map((s) => [s, idle[s] ?? 0]));
    p.cpu.net = {
      nginx: net(stack.nginx),
      apps: stack.apps.reduce((sum, s) => sum + net(s), 0),
      redis: stack.redis.reduce((sum, s) => sum + net(s), 0),
      total: 0,
    };
    p.cpu.net.total = p.cpu.net.nginx + p.cpu.net.apps + p.cpu.net.redis;
    p.cpu.perThousand = p.requests ? (p.cpu.net.total / p.requests) * 1000 : 0;
    say(`${p.name}: ${p.cpu.perThousand.toFixed(2)} CPU-s per 1000 requests net of idle (${p.cpu.perThousandGross.toFixed(2)} gross)`);
  }
}

// ---- scaling -----------------------------------------------------------------------------------------

/** Until nginx routes to exactly these apps: 30 answers in a row, all from them, each of them among those. */
async function waitForRouting(apps: string[]): Promise<void> {
  const deadline = Date.now() + 60_000;
  const recent: string[] = [];
  while (recent.length < 30 || !apps.every((app) => recent.includes(app))) {
    if (Date.now() > deadline) throw new Error(`nginx does not route to exactly ${apps.join(', ')} after 60 s`);
    const res = await fetch(`http://127.0.0.1:${httpPort}/api/ping`).catch(() => null);
    const by = res?.headers.get('x-served-by') ?? '';
    if (res?.ok && apps.includes(by)) recent.push(by);
    else recent.length = 0;
    if (recent.length > 30) recent.shift();
    await sleep(50);
  }
}

async function waitHealthy(services: string[]): Promise<void> {
  const deadline = Date.now() + 90_000;
  for (const service of services) {
    while (docker('inspect', '-f', '{{.State.Health.Status}}', ids[service]!) !== 'healthy') {
      if (Date.now() > deadline) throw new Error(`${service} not healthy after 90 s`);
      await sleep(500);
    }
  }
}

// ---- main --------------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const startedAt = new Date();
  const k6 = runner === 'docker' ? 'docker' : k6Binary();
  const info = spawnSync(path.join(root, 'node_modules/.bin/tsx'), [path.join(root, 'loadtest/tools/run-info.ts'), '--project', project, '--script', 'bench', '--runner', runner, '--k6', k6], { encoding: 'utf8' });
  const run = JSON.parse(info.stdout) as Record<string, unknown>;
  writeFileSync(path.join(runDir, 'run.json'), info.stdout);
  say(`${short ? 'short' : 'full'} run → ${runDir}; report → ${out}.md; k6 ${runner === 'docker' ? 'in the loadtest profile (front network)' : `binary on the host (loopback ports)`}`);

  // The ramps that are compared with each other run close together — sticky and Redis alternating, then
  // Redis on fewer apps — so that the machine's other work changes as little as possible between them.
  const sticky: RampRound[] = [];
  const redis: RampRound[] = [];
  for (let k = 1; k <= ROUNDS; k++) {
    sticky.push(await rampRound(`sticky-${k}`, 'sticky'));
    redis.push(await rampRound(`redis-${k}`, 'redis'));
  }
  const ramps = [bestRamp('sticky', 'sticky', 3, sticky), bestRamp('redis', 'redis', 3, redis)];
  if (PLAN.scaling) {
    const running = ['app-1', 'app-2', 'app-3'];
    const stopped: string[] = [];
    try {
      for (const [service, label] of [['app-3', 'redis-2-apps'], ['app-2', 'redis-1-app']] as const) {
        say(`scaling: stopping ${service}`);
        docker('stop', '-t', '15', ids[service]!);
        stopped.push(service);
        await waitForRouting(running.filter((app) => !stopped.includes(app)));
        ramps.push(await ramp(label, 'redis', running.length - stopped.length));
      }
    } finally {
      if (stopped.length) {
        say(`scaling: starting ${stopped.join(', ')} again`);
        docker('start', ...stopped.map((s) => ids[s]!));
        ids = containers();
        await waitHealthy(stopped);
        await waitForRouting(running);
      }
    }
  }
  if (PLAN.baselineRamp) ramps.push(await ramp('baseline', 'baseline', 3));

  const stickyMax = ramps[0]!.sustainable ?? PLAN.coarse.start;
  // BENCH_EQUAL_RATE fixes it, so that separate runs (an A/B of an app setting) compare at one load.
  const equalRate = process.env.BENCH_EQUAL_RATE ? num('BENCH_EQUAL_RATE', 0) : round10(stickyMax / 2);
  const steadyResults: SteadyResult[] = [];
  for (let k = 1; k <= ROUNDS; k++) {
    for (const variant of ['sticky', 'redis', 'baseline'] as const) steadyResults.push(await steady(`${variant}-${k}`, variant, k, equalRate, PLAN.steadyS));
  }
  steadyResults.push(await steady('redis-reads', 'redis', null, equalRate, PLAN.readsS, 0));
  subtractIdle(steadyResults);

  const reads = steadyResults.find((s) => s.name === 'redis-reads')!;
  const perRead = reads.redis?.perRead ?? null;
  const results: BenchResults = {
    mode: short ? 'short' : 'full',
    startedAt: startedAt.toISOString(),
    durationS: Math.round((Date.now() - startedAt.getTime()) / 1000),
    run,
    settings: {
      runner,
      p95BoundMs: P95_BOUND_MS,
      edgeTolerance: EDGE_TOLERANCE,
      maxFailed: MAX_FAILED,
      vus: K6_ENV.VUS,
      sessions: K6_ENV.SESSIONS,
      writeEvery: K6_ENV.WRITE_EVERY,
      gapS: K6_ENV.GAP_S,
      rounds: ROUNDS,
      plan: PLAN,
      logLevel: process.env.LOG_LEVEL || 'info',
      redisPrimary: primary,
      cpuSource: cpuSource(ids.nginx!),
      runDir: path.relative(root, runDir),
    },
    ramps,
    equalLoad: { rate: equalRate, phases: steadyResults },
    gate: { commandsPerRead: perRead, limit: GATE_COMMANDS_PER_READ, ok: perRead !== null && perRead <= GATE_COMMANDS_PER_READ },
  };
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(`${out}.json`, `${JSON.stringify(results, null, 1)}\n`);
  writeFileSync(path.join(runDir, 'results.json'), `${JSON.stringify(results, null, 1)}\n`);
  writeReport(results, out);
  say(`${out}.json, .md, .svg (${results.durationS} s)`);
  say(`Redis commands per authenticated read: ${perRead === null ? 'not measured' : perRead.toFixed(3)} (limit ${GATE_COMMANDS_PER_READ}) → ${results.gate.ok ? 'ok' : 'FAIL'}`);
  return results.gate.ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    say(`error: ${err.message}`);
    process.exit(1);
  },
);
