// The benchmark's phases against a running compose project (loadtest/bench.sh brings one up and down):
//
//   1. ramps (loadtest/bench/01.ramp.ts): the maximum sustainable rate of the sticky variant, the Redis
//      variant (Sentinel mode), the Redis Cluster variant (the redis-cluster profile) and the no-session
//      baseline (GET /api/ping on the Redis variant's apps) — a coarse staircase to find the knee, then a
//      fine one from just below it
//   2. equal load (02.steady.ts): every variant at 50 % of the sticky maximum — latency, CPU-seconds per
//      1000 requests, Redis commands per request, nginx's upstream keep-alive reuse; then both Redis store
//      modes with reads only, for Redis commands per authenticated read
//   3. scaling: the Redis variant's ramp again with app-3 stopped, then app-2 too (nginx re-resolves names);
//      run right after the Redis ramp, before the baseline's, so the three are measured close together
//
// Writes every k6 run into .artifacts/bench/<time>/<phase>/, the figures as <out>.json, and the report
// (tools/bench-report.ts) as <out>.md and <out>.svg. Exits 1 when Redis commands per authenticated read
// exceed 1.05 in either store mode or a phase did not run; the other goals are reported, not enforced (docs/benchmarks.md).
//
//   npx tsx loadtest/tools/bench-run.ts --project scbench [--short] [--out docs/reports/bench-2026-11-23]
//   npx tsx loadtest/tools/bench-run.ts --report-only docs/reports/bench-2026-11-23.json   # re-render
//
// Environment: K6_RUNNER (docker | binary), K6, HTTP_PORT, STICKY_HTTP_PORT, REDIS_CLUSTER_HTTP_PORT (as
// bench.sh sets them), and
// BENCH_P95_MS, BENCH_ROUNDS, BENCH_VUS, BENCH_SESSIONS, BENCH_WRITE_EVERY, BENCH_STEADY_S (the equal-load
// phases' duration), BENCH_EQUAL_RATE (their rate, instead of 50 % of sticky's maximum) (docs/benchmarks.md).
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { REPO_ROOT } from '../../toolkit/compose.ts';
import { k6Binary } from '../../toolkit/k6.ts';
import { cpuSource } from './bench-probe.ts';
import { writeReport } from './bench-report.ts';
import { benchContext, say, type BenchContext } from './bench/context.ts';
import { gate, round10, subtractIdle } from './bench/figures.ts';
import { allRamps, equalLoad } from './bench/phases.ts';
import type { BenchResults, RampResult, SteadyResult } from './bench/types.ts';

/** What the run ran on (run-info.ts), saved as run.json in the run's folder. */
function recordRun(ctx: BenchContext): Record<string, unknown> {
  const k6 = ctx.runner === 'docker' ? 'docker' : k6Binary();
  const argv = [path.join(REPO_ROOT, 'loadtest/tools/run-info.ts'), '--project', ctx.project, '--script', 'bench', '--runner', ctx.runner, '--k6', k6];
  const info = spawnSync(path.join(REPO_ROOT, 'node_modules/.bin/tsx'), argv, { encoding: 'utf8' });
  const run = JSON.parse(info.stdout) as Record<string, unknown>;
  writeFileSync(path.join(ctx.runDir, 'run.json'), info.stdout);
  return run;
}

function benchResults(ctx: BenchContext, startedAt: Date, run: Record<string, unknown>, ramps: RampResult[], equal: { rate: number; phases: SteadyResult[] }): BenchResults {
  const { settings: st } = ctx;
  const perRead = (name: string) => equal.phases.find((s) => s.name === name)?.redis?.perRead ?? null;
  return {
    mode: ctx.short ? 'short' : 'full',
    startedAt: startedAt.toISOString(),
    durationS: Math.round((Date.now() - startedAt.getTime()) / 1000),
    run,
    settings: {
      runner: ctx.runner,
      p95BoundMs: st.p95BoundMs,
      edgeTolerance: st.edgeTolerance,
      maxFailed: st.maxFailed,
      vus: st.k6Env.VUS,
      sessions: st.k6Env.SESSIONS,
      writeEvery: st.k6Env.WRITE_EVERY,
      gapS: st.k6Env.GAP_S,
      rounds: st.rounds,
      plan: { ...st.plan },
      logLevel: process.env.LOG_LEVEL || 'info',
      redisPrimary: ctx.primary,
      clusterPrimaries: ctx.clusterPrimaries,
      cpuSource: cpuSource(ctx.ids.nginx!),
      runDir: path.relative(REPO_ROOT, ctx.runDir),
    },
    ramps,
    equalLoad: equal,
    gate: gate(perRead('redis-reads'), perRead('cluster-reads')),
  };
}

function writeResults(ctx: BenchContext, results: BenchResults): void {
  mkdirSync(path.dirname(ctx.out), { recursive: true });
  writeFileSync(`${ctx.out}.json`, `${JSON.stringify(results, null, 1)}\n`);
  writeFileSync(path.join(ctx.runDir, 'results.json'), `${JSON.stringify(results, null, 1)}\n`);
  writeReport(results, ctx.out);
  say(`${ctx.out}.json, .md, .svg (${results.durationS} s)`);
}

async function run(ctx: BenchContext): Promise<number> {
  const startedAt = new Date();
  const info = recordRun(ctx);
  const k6Where = ctx.runner === 'docker' ? 'in the loadtest profile (front network)' : 'binary on the host (loopback ports)';
  say(`${ctx.short ? 'short' : 'full'} run → ${ctx.runDir}; report → ${ctx.out}.md; k6 ${k6Where}`);
  const ramps = await allRamps(ctx);
  const stickyMax = ramps[0]!.sustainable ?? ctx.settings.plan.coarse.start;
  const rate = ctx.settings.equalRate ?? round10(stickyMax / 2);
  const phases = await equalLoad(ctx, rate);
  subtractIdle(phases);
  for (const p of phases) say(`${p.name}: ${p.cpu.perThousand.toFixed(2)} CPU-s per 1000 requests net of idle (${p.cpu.perThousandGross.toFixed(2)} gross)`);
  const results = benchResults(ctx, startedAt, info, ramps, { rate, phases });
  writeResults(ctx, results);
  const { commandsPerRead, clusterCommandsPerRead, limit, ok } = results.gate;
  const shown = (x: number | null | undefined) => (typeof x === 'number' ? x.toFixed(3) : 'not measured');
  say(`Redis commands per authenticated read: Sentinel mode ${shown(commandsPerRead)}, cluster mode ${shown(clusterCommandsPerRead)} (limit ${limit}) → ${ok ? 'ok' : 'FAIL'}`);
  return ok ? 0 : 1;
}

async function main(): Promise<number> {
  const { values: args } = parseArgs({
    options: {
      project: { type: 'string', default: process.env.COMPOSE_PROJECT_NAME || 'scbench' },
      short: { type: 'boolean', default: false },
      out: { type: 'string' },
      'report-only': { type: 'string' },
    },
  });
  if (args['report-only']) {
    const results = JSON.parse(readFileSync(args['report-only'], 'utf8')) as BenchResults;
    const out = args.out ?? args['report-only'].replace(/\.json$/, '');
    writeReport(results, out);
    say(`${out}.md, ${out}.svg`);
    return 0;
  }
  return run(benchContext({ project: args.project, short: args.short, ...(args.out ? { out: args.out } : {}) }));
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (err: Error) => {
      say(`error: ${err.message}`);
      process.exit(1);
    },
  );
}
