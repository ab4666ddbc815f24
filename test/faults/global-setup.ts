import { REDIS_VARIANT_SERVICES } from '../../toolkit/services';
import { bringUp, stackCompose, stackOnFreePorts } from '../../toolkit/stack';

/**
 * Brings up the Redis variant of the compose stack (the default profile: nginx, three apps, Redis primary
 * and replica, three Sentinels) for the fault suite, on a free loopback port, under its own project name
 * (SC_FAULTS_PROJECT, default scfaults) so it never touches a stack a person or another suite runs.
 * KEEP_CLUSTER=1 leaves it up afterwards for a look inside.
 */
export default async function globalSetup(): Promise<void> {
  const info = await stackOnFreePorts('The fault suite', {
    project: process.env.SC_FAULTS_PROJECT ?? 'scfaults',
    // REDIS_DOWN_POLICY=read-only in the suite's environment runs it with the apps reading from snapshots while
    // Redis is down (fault 8 reports the share of reads answered either way).
    env: { LOG_LEVEL: 'warn', REDIS_APPENDFSYNC: 'everysec', ...(process.env.REDIS_DOWN_POLICY ? { REDIS_DOWN_POLICY: process.env.REDIS_DOWN_POLICY } : {}) },
    sticky: false,
    profiles: [],
  });
  const tookS = await bringUp(stackCompose(info), REDIS_VARIANT_SERVICES);
  console.log(`fault stack ${info.project} up and healthy in ${tookS.toFixed(1)} s (${info.httpUrl})`);
  process.env.SC_FAULTS = JSON.stringify(info);
}
