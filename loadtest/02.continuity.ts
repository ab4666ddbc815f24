// 02 · continuity: a steady stream of logged-in users clicking (constant-arrival-rate: RATE iterations/s,
// each a GET /api/session and a POST /api/visits, over USERS sessions). Every POST must answer the
// previous counter + 1, else a session was lost (sc_session_lost). On a healthy cluster nothing is lost
// in either variant; the figures: lost sessions, failed requests, p50/p95/p99, per-instance share.
//   k6 run loadtest/02.continuity.ts                              # 1 min at 15 iterations/s
//   k6 run -e TARGET=sticky -e DURATION=5m loadtest/02.continuity.ts
//   k6 run -e LOAD_SHAPE=spike loadtest/02.continuity.ts          # constant | average | stress | spike | soak
import { selectedTarget } from './lib/config.ts';
import { SHAPES } from './lib/load-shapes.ts';
import { continuityIteration } from './lib/session-user.ts';
import { checkTarget } from './lib/setup.ts';
import { observed, SUMMARY_TREND_STATS, summaryHandler, thresholds } from './lib/summary.ts';
import { getsSucceed, latency, noSessionLost } from './lib/thresholds.ts';

const target = selectedTarget();
const shape = __ENV.LOAD_SHAPE || 'constant';
if (!SHAPES[shape]) throw new Error(`LOAD_SHAPE must be one of ${Object.keys(SHAPES).join(', ')}`);

export const options = {
  scenarios: { [target.variant]: { ...SHAPES[shape]!(), tags: { variant: target.variant } } },
  summaryTrendStats: SUMMARY_TREND_STATS,
  thresholds: thresholds(observed([target]), noSessionLost(target), getsSucceed(target), latency(target)),
};

export function setup(): void {
  checkTarget(target);
}

export default function (): void {
  continuityIteration(target);
}

export const handleSummary = summaryHandler('02.continuity', [target], { shape });
