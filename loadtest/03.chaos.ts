// 03 · chaos: the continuity workload (02) while tools/chaos-driver.ts breaks the cluster on a schedule
// (lib/chaos-schedules.ts). Run it through run.sh, which starts both and keeps the driver's fault log:
//   loadtest/run.sh chaos                 # CHAOS=apps: kill, stop and restart app containers
//   CHAOS=redis loadtest/run.sh chaos     # kill the Redis primary: Sentinel fails over
// The Redis variant's promises are thresholds: not one session lost, and (app faults) GETs do not fail.
import { selectedTarget } from './lib/config.ts';
import { chaosSchedule } from './lib/chaos-schedules.ts';
import { constantArrivals } from './lib/load-shapes.ts';
import { continuityIteration } from './lib/session-user.ts';
import { checkTarget } from './lib/setup.ts';
import { observed, SUMMARY_TREND_STATS, summaryHandler, thresholds } from './lib/summary.ts';
import { failoverWindow, getsSucceed, latency, noSessionLost } from './lib/thresholds.ts';

const target = selectedTarget();
const scheduleName = __ENV.CHAOS || 'apps';
const schedule = chaosSchedule(scheduleName);
const redisFaults = scheduleName === 'redis';
// The promises are the Redis variant's; against the sticky variant the same run only measures.
const promises = target.variant === 'redis' ? [noSessionLost(target), redisFaults ? failoverWindow(target, schedule.durationS) : getsSucceed(target)] : [];

export const options = {
  scenarios: { [target.variant]: { ...constantArrivals(`${schedule.durationS}s`), tags: { variant: target.variant } } },
  summaryTrendStats: SUMMARY_TREND_STATS,
  thresholds: thresholds(observed([target]), ...promises, latency(target, { chaos: true })),
};

export function setup(): void {
  checkTarget(target);
}

export default function (): void {
  continuityIteration(target);
}

export const handleSummary = summaryHandler('03.chaos', [target], { chaos: scheduleName, schedule });
