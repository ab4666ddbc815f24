// Pass/fail goals. Two kinds: the cluster's promises (docs/loadtest.md) and latency bounds taken from a
// measured baseline, never from a wish.
import type { Options } from 'k6/options';
import type { Target, Variant } from './config.ts';

type Thresholds = NonNullable<Options['thresholds']>;

/**
 * The baseline: per variant, the median of the runs of 02.continuity (constant shape: 15 iterations/s =
 * 30 requests/s, 30 users, 1 min) on the reference machine that docs/loadtest.md#baseline gives, with the
 * runs' figures and the machine. Requests tagged kind=api only (everything but login, which is slow on
 * purpose: scrypt). When re-measured, the two change together. The Redis Cluster variant has no measured
 * baseline yet, so no latency bound: its runs check what it promises, not a guess at its speed.
 */
export const BASELINE: Partial<Record<Variant, { p95Ms: number; p99Ms: number }>> = {
  redis: { p95Ms: 56, p99Ms: 110 },
  sticky: { p95Ms: 35, p99Ms: 160 },
};

/**
 * Bounds: 5 × the baseline's p95 and p99, rounded up to 10 ms. The factor leaves room for a CI machine
 * that runs the stack, k6 and other jobs on two shared cores, while still catching a regression of an
 * order of magnitude (a Redis round trip per request turning into several, a lost keep-alive).
 * Under chaos only p95 is bounded: a request caught by a kill waits out nginx's proxy_connect_timeout.
 */
const FACTOR = 5;
const bound = (ms: number) => Math.ceil((ms * FACTOR) / 10) * 10;

export function latency(target: Target, { chaos = false } = {}): Thresholds {
  const base = BASELINE[target.variant];
  if (!base) return {};
  const conditions = [`p(95)<${bound(base.p95Ms)}`];
  if (!chaos) conditions.push(`p(99)<${bound(base.p99Ms)}`);
  return { [`http_req_duration{variant:${target.variant},kind:api}`]: conditions };
}

/** A session survives whatever happens to an app instance: not one lost. The Redis variant's promise. */
export function noSessionLost(target: Target): Thresholds {
  return { [`sc_session_lost{variant:${target.variant}}`]: ['count==0'] };
}

/**
 * Reads do not fail when an instance goes away: nginx retries a GET on the next instance. At most 0.1 %
 * (a GET already being answered by a killed instance cannot be retried once nginx has sent its response
 * headers).
 */
export function getsSucceed(target: Target): Thresholds {
  return { [`http_req_failed{variant:${target.variant},method:GET}`]: ['rate<=0.001'] };
}

/**
 * While Sentinel fails over there is no primary, and every request that needs Redis fails (the apps answer
 * 503, which nginx passes on): Sentinel waits down-after-milliseconds (5 s) before it acts, and the election
 * and the apps' reconnection take a few seconds more. The bound: at most 20 s without service, as a share
 * of the run's GETs.
 */
export function failoverWindow(target: Target, runS: number, maxOutageS = 20): Thresholds {
  return { [`http_req_failed{variant:${target.variant},method:GET}`]: [`rate<${(maxOutageS / runS).toFixed(3)}`] };
}
