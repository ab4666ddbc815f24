import { ALL_SERVICES, bringUp, requireDocker, stackCompose, type ClusterInfo } from './compose';
import { freePort } from '../helpers/redis-server';

/**
 * Brings up the whole compose stack (both variants) once for the cluster suite, on free loopback
 * ports, under its own project name so it never touches a cluster a person is running.
 * KEEP_CLUSTER=1 leaves it up afterwards for a look inside.
 */
export default async function globalSetup(): Promise<void> {
  requireDocker('The cluster suite');
  const [httpPort, stickyPort] = [await freePort(), await freePort()];
  const info: ClusterInfo = {
    project: process.env.SC_CLUSTER_PROJECT ?? 'sc-cluster-test',
    httpUrl: `http://127.0.0.1:${httpPort}`,
    stickyUrl: `http://127.0.0.1:${stickyPort}`,
    env: { HTTP_PORT: String(httpPort), STICKY_HTTP_PORT: String(stickyPort), LOG_LEVEL: 'warn' },
  };
  const tookS = await bringUp(stackCompose(info), ALL_SERVICES);
  console.log(`cluster up and healthy in ${tookS.toFixed(1)} s (${info.httpUrl}, sticky ${info.stickyUrl})`);
  process.env.SC_CLUSTER = JSON.stringify(info);
}
