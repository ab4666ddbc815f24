// 04 · compare: the same continuity workload against both variants in one run — the Redis cluster
// (BASE_URL, :8080) and the sticky one (STICKY_URL, :8081) — as two scenarios tagged variant=redis and
// variant=sticky, while tools/chaos-driver.ts takes down one instance of each at the same moment
// (lib/chaos-schedules.ts: CHAOS=compare, or compare-ci in CI). tools/compare-report.ts turns the run into
// a table and a chart.
//   loadtest/run.sh compare
import { TARGETS } from './lib/config.ts';
import { chaosSchedule } from './lib/chaos-schedules.ts';
import { constantArrivals } from './lib/load-shapes.ts';
import { continuityIteration } from './lib/session-user.ts';
import { checkTarget } from './lib/setup.ts';
import { observed, SUMMARY_TREND_STATS, summaryHandler, thresholds } from './lib/summary.ts';
import { getsSucceed, latency, noSessionLost } from './lib/thresholds.ts';

const { redis, sticky } = TARGETS;
const scheduleName = __ENV.CHAOS || 'compare';
const schedule = chaosSchedule(scheduleName);
const duration = `${schedule.durationS}s`;

export const options = {
  scenarios: {
    redis: { ...constantArrivals(duration), exec: 'redisUser', tags: { variant: 'redis' } },
    sticky: { ...constantArrivals(duration), exec: 'stickyUser', tags: { variant: 'sticky' } },
  },
  summaryTrendStats: SUMMARY_TREND_STATS,
  // Promises for the Redis variant only: the sticky one is expected to lose the sessions of the instance
  // that died, and that number is what the comparison shows.
  thresholds: thresholds(
    observed([redis, sticky]),
    noSessionLost(redis),
    getsSucceed(redis),
    latency(redis, { chaos: true }),
    latency(sticky, { chaos: true }),
  ),
};

export function setup(): void {
  checkTarget(redis);
  checkTarget(sticky);
}

export function redisUser(): void {
  continuityIteration(redis);
}

export function stickyUser(): void {
  continuityIteration(sticky);
}

export const handleSummary = summaryHandler('04.compare', [redis, sticky], { chaos: scheduleName, schedule });
