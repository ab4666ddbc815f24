import { REDIS_VARIANT_SERVICES, bringUp, requireDocker, stackCompose, type StackInfo } from '../cluster/compose';
import { freePort } from '../helpers/redis-server';

/**
 * Brings up the Redis variant of the compose stack (the default profile: nginx, three apps, Redis primary
 * and replica, three Sentinels) for the fault suite, on a free loopback port, under its own project name
 * (SC_FAULTS_PROJECT, default scfaults) so it never touches a stack a person or another suite runs.
 * KEEP_CLUSTER=1 leaves it up afterwards for a look inside.
 */
export default async function globalSetup(): Promise<void> {
  requireDocker('The fault suite');
  const httpPort = await freePort();
  const info: StackInfo = {
    project: process.env.SC_FAULTS_PROJECT ?? 'scfaults',
    httpUrl: `http://127.0.0.1:${httpPort}`,
    env: { HTTP_PORT: String(httpPort), LOG_LEVEL: 'warn', REDIS_APPENDFSYNC: 'everysec' },
    profiles: [],
  };
  const tookS = await bringUp(stackCompose(info), REDIS_VARIANT_SERVICES);
  console.log(`fault stack ${info.project} up and healthy in ${tookS.toFixed(1)} s (${info.httpUrl})`);
  process.env.SC_FAULTS = JSON.stringify(info);
}
