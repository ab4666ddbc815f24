// One k6 run of the benchmark, with (for an equal-load phase) the counters and the CPU read around its load.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { docker } from '../../../toolkit/docker.ts';
import { k6Command, startK6, waitForK6Scenarios, type StartedK6 } from '../../../toolkit/k6.ts';
import { freePort } from '../../../toolkit/ports.ts';
import { sleep } from '../../../toolkit/time.ts';
import { appCounters, commandStats, readCpu, summedCommandStats } from '../bench-probe.ts';
import { say, type BenchContext } from './context.ts';
import { cpuOverLoad, STACK } from './figures.ts';
import type { Counters, CpuReading, K6Summary, Measured, Variant } from './types.ts';

function counters(ctx: BenchContext, variant: Variant): Counters {
  const stack = STACK[variant];
  const commands = variant === 'cluster' ? summedCommandStats(ctx.clusterPrimaries.map((node) => ctx.ids[node]!)) : commandStats(ctx.ids[ctx.primary]!);
  return { commands, apps: appCounters(ctx.ids[stack.nginx]!, stack.apps) };
}

/** What was read while the load ran: the counters just before it, when, and the CPU every 200 ms. */
interface Watched {
  before: Counters;
  beforeAt: number;
  samples: CpuReading[];
}

/**
 * Counters once the scenarios are about to run (k6 status "running" starts the idle gap), CPU every 200 ms
 * until k6 has gone (interpolated afterwards to the load's own start and end). Undefined when k6 never ran them.
 */
async function watch(ctx: BenchContext, k6: StartedK6, api: number, k6Name: string, variant: Variant): Promise<Watched | undefined> {
  if ((await waitForK6Scenarios(`http://127.0.0.1:${api}`, k6.done, 50)) !== 'running') return undefined;
  const reading = ctx.runner === 'docker' ? { container: docker('inspect', '-f', '{{.Id}}', k6Name) } : { pid: k6.child.pid };
  const before = counters(ctx, variant);
  const beforeAt = Date.now();
  const samples: CpuReading[] = [];
  while (!k6.done()) {
    samples.push(readCpu(ctx.ids, reading));
    await sleep(200);
  }
  return { before, beforeAt, samples };
}

function readSummary(dir: string, phase: string, code: number | null): K6Summary {
  const file = path.join(dir, 'summary.json');
  if (!existsSync(file)) throw new Error(`${phase}: k6 exited ${code} without a summary (see ${path.join(dir, 'k6.log')})`);
  // 99: a threshold failed — here only the ramp's abort on dropped iterations, which is how a ramp ends.
  if (code !== 0 && code !== 99) throw new Error(`${phase}: k6 exited ${code} (see ${path.join(dir, 'k6.log')})`);
  return JSON.parse(readFileSync(file, 'utf8')) as K6Summary;
}

export async function runK6(
  ctx: BenchContext,
  phase: string,
  script: string,
  env: Record<string, string | number>,
  measure?: { variant: Variant; durationS: number },
): Promise<{ summary: K6Summary; measured?: Measured }> {
  const dir = path.join(ctx.runDir, phase);
  mkdirSync(dir, { recursive: true });
  const apiPort = await freePort();
  // The docker runner's container, named so that its CPU can be read (one-off containers get a random suffix).
  const k6Name = `${ctx.project}_k6_bench_${phase}_${Date.now()}`;
  const envArgs = Object.entries({ ...ctx.settings.k6Env, ...env }).flatMap(([k, v]) => ['-e', `${k}=${v}`]);
  const hostTargets = [
    ...['-e', `BASE_URL=http://127.0.0.1:${ctx.httpPort}`, '-e', `STICKY_URL=http://127.0.0.1:${ctx.stickyPort}`],
    ...['-e', `CLUSTER_URL=http://127.0.0.1:${ctx.clusterPort}`],
  ];
  const command = k6Command({
    runner: ctx.runner,
    script: `bench/${script}`,
    apiPort,
    k6Args: ctx.runner === 'docker' ? envArgs : [...hostTargets, ...envArgs],
    container: { name: k6Name, env: { RESULTS_DIR: `/results/${phase}`, K6_WEB_DASHBOARD: 'false' } },
  });
  say(`${phase}: ${script} ${Object.entries(env).map(([k, v]) => `${k}=${v}`).join(' ')}`);
  const k6Env = { ...process.env, LOADTEST_RESULTS: ctx.runDir, RESULTS_DIR: dir, K6_WEB_DASHBOARD: 'false', K6_NO_USAGE_REPORT: 'true' };
  const k6 = startK6(command, k6Env, path.join(dir, 'k6.log'));
  const watched = measure ? await watch(ctx, k6, apiPort, k6Name, measure.variant) : undefined;
  const summary = readSummary(dir, phase, await k6.exited);
  if (!measure) return { summary };
  if (!watched) throw new Error(`${phase}: k6 never reported its scenarios running`);
  const cpu = cpuOverLoad(phase, summary, measure.durationS, watched.samples);
  return { summary, measured: { counters: [watched.before, counters(ctx, measure.variant)], cpu, late: watched.beforeAt > cpu[0].at } };
}
