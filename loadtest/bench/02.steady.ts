// bench 02 · steady: the workload of workload.ts at one constant rate (RATE requests/s for DURATION), for
// latency at equal load and, measured around it by tools/bench-run.ts, CPU-seconds and Redis commands per
// request and upstream keep-alive reuse.
//   k6 run -e BENCH_VARIANT=redis -e RATE=300 -e DURATION=60s loadtest/bench/02.steady.ts
import { envNumber } from '../lib/config.ts';
import { BENCH_THRESHOLDS, benchIteration, benchSummary, loginSessions, SCENARIO_BASE, TREND_STATS, type BenchSession } from './workload.ts';

const RATE = envNumber('RATE', 100);
const DURATION = __ENV.DURATION || '60s';

export const options = {
  scenarios: {
    steady: {
      executor: 'constant-arrival-rate',
      rate: RATE,
      timeUnit: '1s',
      duration: DURATION,
      ...SCENARIO_BASE,
    },
  },
  summaryTrendStats: TREND_STATS,
  thresholds: {
    ...BENCH_THRESHOLDS,
    'http_reqs{op:read}': ['count>=0'],
    'http_reqs{op:write}': ['count>=0'],
    'http_reqs{op:ping}': ['count>=0'],
    'http_req_duration{op:read}': ['p(95)>=0'],
    'http_req_duration{op:write}': ['p(95)>=0'],
  },
};

export function setup(): BenchSession[] {
  return loginSessions();
}

export default function (sessions: BenchSession[]): void {
  benchIteration(sessions);
}

export const handleSummary = benchSummary('02.steady', { rate: RATE, duration: DURATION });
