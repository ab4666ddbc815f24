import { ALL_SERVICES } from '../../toolkit/services';
import { bringUp, stackCompose, stackOnFreePorts } from '../../toolkit/stack';

/**
 * Brings up the whole compose stack (both variants) once for the cluster suite, on free loopback
 * ports, under its own project name so it never touches a cluster a person is running.
 * KEEP_CLUSTER=1 leaves it up afterwards for a look inside.
 */
export default async function globalSetup(): Promise<void> {
  const info = await stackOnFreePorts('The cluster suite', {
    project: process.env.SC_CLUSTER_PROJECT ?? 'sc-cluster-test',
    env: { LOG_LEVEL: 'warn' },
    sticky: true,
  });
  const tookS = await bringUp(stackCompose(info), ALL_SERVICES);
  console.log(`cluster up and healthy in ${tookS.toFixed(1)} s (${info.httpUrl}, sticky ${info.stickyUrl})`);
  process.env.SC_CLUSTER = JSON.stringify(info);
}
