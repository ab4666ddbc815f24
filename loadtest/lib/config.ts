// Where the scripts point and with what, from `__ENV` (k6 -e NAME=value, or the environment) with local
// defaults: the compose stack's published ports on the loopback interface.

import type { Variant } from './variants.ts';

export type { Variant };

export interface Target {
  variant: Variant;
  url: string;
  /** The INSTANCE_ID of each app behind this nginx, for the per-instance share (X-Served-By). */
  instances: string[];
  /** The session cookie's name (docker-compose.yml gives the sticky apps their own: one host, two ports). */
  cookieName: string;
}

export const TARGETS: Record<Variant, Target> = {
  redis: {
    variant: 'redis',
    url: __ENV.BASE_URL || 'http://127.0.0.1:8080',
    instances: ['app-1', 'app-2', 'app-3'],
    cookieName: 'sc.sid',
  },
  sticky: {
    variant: 'sticky',
    url: __ENV.STICKY_URL || 'http://127.0.0.1:8081',
    instances: ['sticky-1', 'sticky-2', 'sticky-3'],
    cookieName: 'sc.sticky.sid',
  },
  cluster: {
    variant: 'cluster',
    url: __ENV.CLUSTER_URL || 'http://127.0.0.1:8082',
    instances: ['cluster-app-1', 'cluster-app-2', 'cluster-app-3'],
    cookieName: 'sc.cluster.sid',
  },
};

/** The variant a single-target script (smoke, continuity, chaos) runs against: TARGET=redis|sticky|cluster. */
export function selectedTarget(): Target {
  const name = __ENV.TARGET || 'redis';
  if (name !== 'redis' && name !== 'sticky' && name !== 'cluster') throw new Error(`TARGET must be redis, sticky or cluster, not "${name}"`);
  return TARGETS[name];
}

/** The demo users (README.md); VUs take them in turn, so each user holds several sessions at once. */
export const USERS = [
  { username: 'alice', password: 'wonderland' },
  { username: 'bob', password: 'builder-bob' },
  { username: 'carol', password: 'carol-sings' },
] as const;

/** Where handleSummary writes summary.json and summary.txt (the runner gives each run its own folder). */
export const RESULTS_DIR = __ENV.RESULTS_DIR || '.';

/** A positive number from the environment, or the default. */
export function envNumber(name: string, fallback: number): number {
  const raw = __ENV[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, not "${raw}"`);
  return value;
}
