// bench 01 · ramp: the maximum sustainable rate. A ramping-arrival-rate staircase — RATES=100,150,… requests/s,
// each step ramped to in RAMP_S and held for HOLD_S — of the workload in workload.ts (BENCH_VARIANT=baseline |
// sticky | redis). The requests of each hold are tagged step=<i>, so the summary holds every step's count,
// failures and latency; tools/bench-run.ts takes the highest step with no dropped iteration and p95 under its
// bound. Once DROP_ABORT iterations have been dropped the cluster is past its limit and the run stops.
//   k6 run -e BENCH_VARIANT=sticky -e RATES=200,300,400 loadtest/bench/01.ramp.ts
import exec from 'k6/execution';
import { envNumber } from '../lib/config.ts';
import { BENCH_THRESHOLDS, benchIteration, benchSummary, loginSessions, SCENARIO_BASE, TREND_STATS, type BenchSession } from './workload.ts';

const RATES = (__ENV.RATES || '50,100,150,200').split(',').map(Number);
if (RATES.some((r) => !Number.isInteger(r) || r <= 0)) throw new Error(`RATES must be positive integers, not "${__ENV.RATES}"`);
const RAMP_S = envNumber('RAMP_S', 2);
const HOLD_S = envNumber('HOLD_S', 8);
const DROP_ABORT = envNumber('DROP_ABORT', 200);
const STEP_S = RAMP_S + HOLD_S;

// k6 keeps a tagged sub-metric in the summary only when a threshold names it: always-true ones per step.
const stepThresholds: Record<string, string[]> = {};
RATES.forEach((_, i) => {
  stepThresholds[`http_reqs{step:${i}}`] = ['count>=0'];
  stepThresholds[`http_req_failed{step:${i}}`] = ['rate>=0'];
  stepThresholds[`http_req_duration{step:${i}}`] = ['p(95)>=0'];
});

export const options = {
  scenarios: {
    ramp: {
      executor: 'ramping-arrival-rate',
      startRate: RATES[0],
      timeUnit: '1s',
      stages: RATES.flatMap((target) => [
        { duration: `${RAMP_S}s`, target },
        { duration: `${HOLD_S}s`, target },
      ]),
      ...SCENARIO_BASE,
    },
  },
  summaryTrendStats: TREND_STATS,
  thresholds: {
    ...stepThresholds,
    ...BENCH_THRESHOLDS,
    dropped_iterations: [{ threshold: `count<${DROP_ABORT}`, abortOnFail: true }],
  },
};

export function setup(): BenchSession[] {
  return loginSessions();
}

export default function (sessions: BenchSession[]): void {
  const elapsedS = (Date.now() - exec.scenario.startTime) / 1000;
  const step = Math.floor(elapsedS / STEP_S);
  const held = elapsedS - step * STEP_S >= RAMP_S;
  benchIteration(sessions, held && step < RATES.length ? { step: String(step) } : {});
}

export const handleSummary = benchSummary('01.ramp', { rates: RATES, rampS: RAMP_S, holdS: HOLD_S, dropAbort: DROP_ABORT });
