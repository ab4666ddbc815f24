// What the chaos driver (tools/chaos-driver.ts) does and when, in seconds after k6 starts its scenarios.
// Shared by the k6 scripts (their duration covers the schedule) and the driver, so the two cannot drift.
// Plain data, no k6 or Node imports: both runtimes load this file.

export type FaultAction = 'kill' | 'stop' | 'start' | 'restart';

/** A compose service name, or REDIS_PRIMARY: whichever Redis Sentinel names primary at that moment. */
export const REDIS_PRIMARY = '@redis-primary';

export interface Fault {
  at: number;
  action: FaultAction;
  /** Acted on in one `docker` call, so several containers go down at the same moment. */
  services: string[];
}

export interface ChaosSchedule {
  description: string;
  durationS: number;
  faults: Fault[];
}

export const SCHEDULES: Record<string, ChaosSchedule> = {
  // 03.chaos, CHAOS=apps: every way an app container goes away, one at a time, each given time to come back.
  apps: {
    description: 'kill app-2, start it; stop app-1 (graceful), start it; restart app-3',
    durationS: 120,
    faults: [
      { at: 20, action: 'kill', services: ['app-2'] },
      { at: 35, action: 'start', services: ['app-2'] },
      { at: 55, action: 'stop', services: ['app-1'] },
      { at: 70, action: 'start', services: ['app-1'] },
      { at: 90, action: 'restart', services: ['app-3'] },
    ],
  },
  // 03.chaos, CHAOS=redis: Sentinel notices after down-after-milliseconds (5 s), promotes the replica, and
  // the apps follow; the old primary comes back as a replica.
  redis: {
    description: 'kill the Redis primary, start it again 30 s later (it rejoins as a replica)',
    durationS: 90,
    faults: [
      { at: 20, action: 'kill', services: [REDIS_PRIMARY] },
      { at: 50, action: 'start', services: [REDIS_PRIMARY] },
    ],
  },
  // 04.compare: one instance of each variant dies at the same moment, then comes back; later one of each
  // is stopped the polite way (a deploy), which a memory store survives no better.
  compare: {
    description: 'kill app-2 + sticky-2, start them; stop app-3 + sticky-3 (graceful), start them',
    durationS: 130,
    faults: [
      { at: 30, action: 'kill', services: ['app-2', 'sticky-2'] },
      { at: 60, action: 'start', services: ['app-2', 'sticky-2'] },
      { at: 90, action: 'stop', services: ['app-3', 'sticky-3'] },
      { at: 105, action: 'start', services: ['app-3', 'sticky-3'] },
    ],
  },
  // The short compare CI runs (loadtest/ci.sh).
  'compare-ci': {
    description: 'kill app-2 + sticky-2, start them 25 s later',
    durationS: 80,
    faults: [
      { at: 25, action: 'kill', services: ['app-2', 'sticky-2'] },
      { at: 50, action: 'start', services: ['app-2', 'sticky-2'] },
    ],
  },
};

export function chaosSchedule(name: string): ChaosSchedule {
  const schedule = SCHEDULES[name];
  if (!schedule) throw new Error(`unknown chaos schedule "${name}"; known: ${Object.keys(SCHEDULES).join(', ')}`);
  return schedule;
}
