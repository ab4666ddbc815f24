import { spawnSync } from 'node:child_process';
import { ALL_SERVICES, Compose, type ClusterInfo } from './compose';
import { freePort } from '../helpers/redis-server';

/**
 * Brings up the whole compose stack (both variants) once for the cluster suite, on free loopback
 * ports, under its own project name so it never touches a cluster a person is running.
 * KEEP_CLUSTER=1 leaves it up afterwards for a look inside.
 */
export default async function globalSetup(): Promise<void> {
  if (spawnSync('docker', ['info'], { stdio: 'ignore', timeout: 10_000 }).status !== 0) {
    throw new Error('The cluster suite needs a running Docker engine (CI starts one with .ci/docker.sh).');
  }
  const [httpPort, stickyPort] = [await freePort(), await freePort()];
  const info: ClusterInfo = {
    project: process.env.SC_CLUSTER_PROJECT ?? 'sc-cluster-test',
    httpUrl: `http://127.0.0.1:${httpPort}`,
    stickyUrl: `http://127.0.0.1:${stickyPort}`,
    env: { HTTP_PORT: String(httpPort), STICKY_HTTP_PORT: String(stickyPort), LOG_LEVEL: 'warn' },
  };
  const compose = new Compose(info.project, info.env);
  compose.run(['down', '-v', '--remove-orphans']);
  const started = Date.now();
  compose.run(['up', '-d', '--build'], 900_000);
  await compose.waitHealthy(ALL_SERVICES, 240_000);
  console.log(`cluster up and healthy in ${((Date.now() - started) / 1000).toFixed(1)} s (${info.httpUrl}, sticky ${info.stickyUrl})`);
  process.env.SC_CLUSTER = JSON.stringify(info);
}
