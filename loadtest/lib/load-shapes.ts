// Shared load shapes. The continuity workload is an open model: iterations start at a set rate whatever
// the latency (arrival-rate executors), so a slow or failing cluster meets the same demand as a healthy
// one. Each VU is one logged-in user, so `users` is also the number of live sessions per variant.
// The defaults fit a 2-core machine running the whole stack: 15 iterations/s = 30 requests/s per variant.
import type { Scenario } from 'k6/options';
import { envNumber } from './config.ts';

/** Iterations (one GET + one POST each) started per second, per variant: RATE. */
export const RATE = envNumber('RATE', 15);
/** Logged-in users (VUs) per variant: USERS. 30 users at 15 iterations/s = one click every 2 s each. */
export const USERS_PER_VARIANT = envNumber('USERS', 30);

/** A few VUs looping over the whole contract: does it hold end to end? */
export function smoke(duration = __ENV.DURATION || '20s'): Scenario {
  return { executor: 'constant-vus', vus: 3, duration };
}

/** The same demand every second for `duration`: the shape every measurement here uses. */
export function constantArrivals(duration: string, rate = RATE, users = USERS_PER_VARIANT): Scenario {
  return {
    executor: 'constant-arrival-rate',
    rate,
    timeUnit: '1s',
    duration,
    preAllocatedVUs: users,
    maxVUs: users,
  };
}

type Stage = { duration: string; target: number };

function rampingArrivals(stages: Stage[], users = USERS_PER_VARIANT): Scenario {
  return {
    executor: 'ramping-arrival-rate',
    startRate: 0,
    timeUnit: '1s',
    stages,
    preAllocatedVUs: users,
    maxVUs: users * 2,
  };
}

/** Named shapes for 02.continuity (LOAD_SHAPE=...), in iterations/s around RATE. */
export const SHAPES: Record<string, () => Scenario> = {
  constant: () => constantArrivals(__ENV.DURATION || '1m'),
  average: () =>
    rampingArrivals([
      { duration: '15s', target: RATE },
      { duration: '1m', target: RATE },
      { duration: '10s', target: 0 },
    ]),
  stress: () =>
    rampingArrivals([
      { duration: '15s', target: RATE },
      { duration: '30s', target: RATE * 2 },
      { duration: '1m', target: RATE * 2 },
      { duration: '10s', target: 0 },
    ]),
  spike: () =>
    rampingArrivals([
      { duration: '20s', target: RATE },
      { duration: '5s', target: RATE * 4 },
      { duration: '20s', target: RATE * 4 },
      { duration: '5s', target: RATE },
      { duration: '20s', target: RATE },
    ]),
  soak: () =>
    rampingArrivals([
      { duration: '1m', target: RATE },
      { duration: '30m', target: RATE },
      { duration: '1m', target: 0 },
    ]),
};
