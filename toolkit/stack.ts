// A whole stack for a suite: started on free loopback ports under a project name of its own, handed on,
// torn down.
import { spawnSync } from 'node:child_process';
import { Compose } from './compose';
import { freePort } from './ports';

/** How a suite's global setup hands its stack to the test files (through the environment). */
export interface StackInfo {
  project: string;
  httpUrl: string;
  /** The environment the stack was started with (host ports): every later compose call passes it again. */
  env: Record<string, string>;
  /** The compose profiles it runs with; absent: `sticky`, both variants (the cluster suite's stack). */
  profiles?: string[];
  /** The sticky variant's nginx, when the stack runs it. */
  stickyUrl?: string;
}

/** A compose handle on a stack a global setup started. */
export function stackCompose({ project, env, profiles }: StackInfo): Compose {
  return new Compose(project, env, profiles ? { profiles } : {});
}

/** Fails at once, with what to do, when no Docker engine answers. */
export function requireDocker(suite: string): void {
  if (spawnSync('docker', ['info'], { stdio: 'ignore', timeout: 10_000 }).status !== 0) {
    throw new Error(`${suite} needs a running Docker engine (CI starts one with .ci/docker.sh).`);
  }
}

/**
 * A global setup's start: the project's leftovers and volumes removed, the stack built and started, and
 * every service waited for until healthy. Returns how long that took, in seconds.
 */
export async function bringUp(compose: Compose, services: string[], timeoutMs = 240_000): Promise<number> {
  compose.down(120_000);
  const started = Date.now();
  compose.run(['up', '-d', '--build'], 900_000);
  await compose.waitHealthy(services, timeoutMs);
  return (Date.now() - started) / 1000;
}

export interface StackSpec {
  project: string;
  /** More environment than the host ports (LOG_LEVEL…). */
  env: Record<string, string>;
  /** Also the sticky variant's nginx, on a port of its own (STICKY_HTTP_PORT). */
  sticky: boolean;
  profiles?: string[];
}

/** Checks for Docker, then picks free loopback ports for the stack's nginx: what bringUp starts and a suite hands on. */
export async function stackOnFreePorts(suite: string, spec: StackSpec): Promise<StackInfo> {
  requireDocker(suite);
  const httpPort = await freePort();
  const stickyPort = spec.sticky ? await freePort() : undefined;
  return {
    project: spec.project,
    httpUrl: `http://127.0.0.1:${httpPort}`,
    ...(stickyPort ? { stickyUrl: `http://127.0.0.1:${stickyPort}` } : {}),
    env: { HTTP_PORT: String(httpPort), ...(stickyPort ? { STICKY_HTTP_PORT: String(stickyPort) } : {}), ...spec.env },
    ...(spec.profiles ? { profiles: spec.profiles } : {}),
  };
}

/** A suite's teardown: its stack down with its volumes, unless KEEP_CLUSTER=1 or it never came up. */
export function tearDownStack(info: StackInfo | undefined): void {
  if (!info) return;
  if (process.env.KEEP_CLUSTER === '1') {
    console.log(`KEEP_CLUSTER=1: project ${info.project} left running`);
    return;
  }
  // --remove-orphans also takes containers a test started under the project's label (fault 3's placeholder).
  stackCompose(info).down();
}
