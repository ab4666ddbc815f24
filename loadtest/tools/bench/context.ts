// What every phase of a benchmark run needs: the project, its containers, where results go, the settings.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../../../toolkit/compose.ts';
import { containerOf, projectRedisCli } from '../../../toolkit/docker.ts';
import type { K6Runner } from '../../../toolkit/k6.ts';
import { sentinelPrimary } from '../../../toolkit/sentinel.ts';
import { APP_SERVICES, CLUSTER_NODES, CLUSTER_VARIANT_SERVICES, REDIS_SERVICES, STICKY_SERVICES } from '../../../toolkit/services.ts';
import { isPrimary } from '../bench-probe.ts';
import { benchSettings, type BenchSettings } from './settings.ts';

export const say = (message: string) => console.error(`[bench] ${message}`);

/** Every container the benchmark reads the CPU of. */
const SERVICES = ['nginx', ...APP_SERVICES, ...REDIS_SERVICES, 'nginx-sticky', ...STICKY_SERVICES, ...CLUSTER_VARIANT_SERVICES];

export interface BenchContext {
  project: string;
  short: boolean;
  runner: K6Runner;
  httpPort: string;
  stickyPort: string;
  /** The redis-cluster profile's nginx-cluster. */
  clusterPort: string;
  settings: BenchSettings;
  /** .artifacts/bench/<time>/: every k6 run, run.json, results.json. */
  runDir: string;
  /** The report's path prefix: <out>.json, .md, .svg. */
  out: string;
  /** service → running container id; looked up again after the scaling phase restarted apps. */
  ids: Record<string, string>;
  /** The Redis primary as the run started (Sentinel's answer): its commandstats are read. */
  primary: string;
  /** The Redis Cluster's primaries as the run started: their commandstats are read, added up. */
  clusterPrimaries: string[];
}

/** The running containers of the project's services, by service. */
export function containers(project: string): Record<string, string> {
  const ids: Record<string, string> = {};
  for (const service of SERVICES) {
    const id = containerOf(project, service, { running: true });
    if (id) ids[service] = id;
  }
  return ids;
}

/** The run's context: its folder made, every service found running, the primary asked for. */
export function benchContext({ project, short, out }: { project: string; short: boolean; out?: string }): BenchContext {
  const settings = benchSettings(process.env, short);
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  const runDir = path.join(REPO_ROOT, '.artifacts/bench', `${stamp}${short ? '-short' : ''}`);
  mkdirSync(runDir, { recursive: true });
  const ids = containers(project);
  for (const service of SERVICES) if (!ids[service]) throw new Error(`no running ${service} in compose project ${project}: bring it up with --profile sticky --profile redis-cluster (loadtest/bench.sh does)`);
  return {
    project,
    short,
    runner: process.env.K6_RUNNER === 'binary' ? 'binary' : 'docker',
    httpPort: process.env.HTTP_PORT || '8080',
    stickyPort: process.env.STICKY_HTTP_PORT || '8081',
    clusterPort: process.env.REDIS_CLUSTER_HTTP_PORT || '8082',
    settings,
    runDir,
    out: out ?? (short ? path.join(runDir, 'bench') : path.join(REPO_ROOT, 'docs/reports', `bench-${new Date().toISOString().slice(0, 10)}`)),
    ids,
    primary: sentinelPrimary(projectRedisCli(project)),
    clusterPrimaries: CLUSTER_NODES.filter((node) => isPrimary(ids[node]!)),
  };
}
