// The benchmark's phases: ramps (maximum sustainable rate), the scaling ramps, the equal-load phases.
import { Compose } from '../../../toolkit/compose.ts';
import { docker } from '../../../toolkit/docker.ts';
import { APP_SERVICES } from '../../../toolkit/services.ts';
import { sleep } from '../../../toolkit/time.ts';
import { containers, say, type BenchContext } from './context.ts';
import { bestRamp, bestRate, coarseRates, fineRates, rampSteps, rampVerdict, steadyFigures, type SteadyPhase } from './figures.ts';
import { runK6 } from './k6-phase.ts';
import type { RampResult, RampRound, SteadyResult, Variant } from './types.ts';

/** One ramp: the coarse staircase, then the fine one from just below its knee. */
async function rampRound(ctx: BenchContext, phase: string, variant: Variant): Promise<RampRound> {
  const { plan } = ctx.settings;
  const c = plan.coarse;
  const staircase = async (kind: string, rates: number[], rampS: number, holdS: number) => {
    const env = { BENCH_VARIANT: variant, RATES: rates.join(','), RAMP_S: rampS, HOLD_S: holdS, DROP_ABORT: plan.dropAbort };
    return { kind, rampS, holdS, steps: rampSteps((await runK6(ctx, `${phase}-${kind}`, '01.ramp.ts', env)).summary, ctx.settings) };
  };
  const passes = [await staircase('coarse', coarseRates(c), c.rampS, c.holdS)];
  if (plan.fine) {
    const knee = bestRate(passes[0]!.steps) || c.start;
    passes.push(await staircase('fine', fineRates(knee, plan.fine), plan.fine.rampS, plan.fine.holdS));
  }
  const { sustainable, censored, firstFailing } = rampVerdict(passes);
  say(`${phase}: sustainable ${censored ? '≥ ' : ''}${sustainable ?? 'none'} requests/s${firstFailing ? ` (${firstFailing.rate}: p95 ${firstFailing.p95.toFixed(1)} ms, dropped ${firstFailing.dropped})` : ''}`);
  return { sustainable, censored, firstFailing, passes };
}

async function ramp(ctx: BenchContext, name: string, variant: Variant, apps: number): Promise<RampResult> {
  const rounds: RampRound[] = [];
  for (let k = 1; k <= ctx.settings.rounds; k++) rounds.push(await rampRound(ctx, `${name}-${k}`, variant));
  return bestRamp(name, variant, apps, rounds);
}

/** Until nginx routes to exactly these apps: 30 answers in a row, all from them, each of them among those. */
async function waitForRouting(ctx: BenchContext, apps: string[]): Promise<void> {
  const deadline = Date.now() + 60_000;
  const recent: string[] = [];
  while (recent.length < 30 || !apps.every((app) => recent.includes(app))) {
    if (Date.now() > deadline) throw new Error(`nginx does not route to exactly ${apps.join(', ')} after 60 s`);
    const res = await fetch(`http://127.0.0.1:${ctx.httpPort}/api/ping`).catch(() => null);
    const by = res?.headers.get('x-served-by') ?? '';
    if (res?.ok && apps.includes(by)) recent.push(by);
    else recent.length = 0;
    if (recent.length > 30) recent.shift();
    await sleep(50);
  }
}

/** The Redis variant's ramp with app-3 stopped, then app-2 too (nginx re-resolves names); both started again after. */
async function scalingRamps(ctx: BenchContext): Promise<RampResult[]> {
  const ramps: RampResult[] = [];
  const stopped: string[] = [];
  try {
    for (const [service, label] of [['app-3', 'redis-2-apps'], ['app-2', 'redis-1-app']] as const) {
      say(`scaling: stopping ${service}`);
      docker('stop', '-t', '15', ctx.ids[service]!);
      stopped.push(service);
      await waitForRouting(ctx, APP_SERVICES.filter((app) => !stopped.includes(app)));
      ramps.push(await ramp(ctx, label, 'redis', APP_SERVICES.length - stopped.length));
    }
  } finally {
    if (stopped.length) {
      say(`scaling: starting ${stopped.join(', ')} again`);
      docker('start', ...stopped.map((s) => ctx.ids[s]!));
      ctx.ids = containers(ctx.project);
      await new Compose(ctx.project).waitHealthy(stopped, 90_000);
      await waitForRouting(ctx, APP_SERVICES);
    }
  }
  return ramps;
}

/** The variants compared side by side, in the order each round runs them; sticky first (the equal load is a share of its maximum). */
const COMPARED = ['sticky', 'redis', 'cluster'] as const;

/**
 * Every ramp. The ones compared with each other run close together — sticky, Redis (Sentinel) and Redis
 * Cluster alternating, then Redis on fewer apps — so that the machine's other work changes as little as
 * possible between them. Sticky's comes first.
 */
export async function allRamps(ctx: BenchContext): Promise<RampResult[]> {
  const rounds: Record<(typeof COMPARED)[number], RampRound[]> = { sticky: [], redis: [], cluster: [] };
  for (let k = 1; k <= ctx.settings.rounds; k++) {
    for (const variant of COMPARED) rounds[variant].push(await rampRound(ctx, `${variant}-${k}`, variant));
  }
  const ramps = COMPARED.map((variant) => bestRamp(variant, variant, 3, rounds[variant]));
  if (ctx.settings.plan.scaling) ramps.push(...(await scalingRamps(ctx)));
  if (ctx.settings.plan.baselineRamp) ramps.push(await ramp(ctx, 'baseline', 'baseline', 3));
  return ramps;
}

async function steady(ctx: BenchContext, phase: SteadyPhase, writeEvery: number): Promise<SteadyResult> {
  const { name, variant, rate, durationS } = phase;
  const env = { BENCH_VARIANT: variant, RATE: rate, DURATION: `${durationS}s`, WRITE_EVERY: writeEvery };
  const { summary, measured } = await runK6(ctx, name, '02.steady.ts', env, { variant, durationS });
  const result = steadyFigures(phase, summary, measured!);
  const { latencyMs: l, keepalive } = result;
  say(
    `${name}: ${result.requests} requests at ${rate}/s, p50/p95/p99 ${l.p50.toFixed(1)}/${l.p95.toFixed(1)}/${l.p99.toFixed(1)} ms, ` +
      `${result.cpu.perThousandGross.toFixed(2)} CPU-s per 1000 (gross), keep-alive reuse ${keepalive.reuse === null ? '?' : (keepalive.reuse * 100).toFixed(2)} %` +
      (result.redis ? `, Redis commands per request ${result.redis.perRequest.toFixed(3)}` : ''),
  );
  return result;
}

/** Every variant at `rate`, round after round, then both Redis store modes with reads only (for the gate). */
export async function equalLoad(ctx: BenchContext, rate: number): Promise<SteadyResult[]> {
  const { rounds, plan, k6Env } = ctx.settings;
  const results: SteadyResult[] = [];
  for (let k = 1; k <= rounds; k++) {
    for (const variant of [...COMPARED, 'baseline'] as const) {
      results.push(await steady(ctx, { name: `${variant}-${k}`, variant, round: k, rate, durationS: plan.steadyS }, k6Env.WRITE_EVERY));
    }
  }
  for (const variant of ['redis', 'cluster'] as const) {
    results.push(await steady(ctx, { name: `${variant}-reads`, variant, round: null, rate, durationS: plan.readsS }, 0));
  }
  return results;
}
