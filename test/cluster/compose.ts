import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');

/** How a suite's global setup hands its stack to the test files (through the environment). */
export interface StackInfo {
  project: string;
  httpUrl: string;
  /** The environment the stack was started with (host ports): every later compose call passes it again. */
  env: Record<string, string>;
  /** The compose profiles it runs with; absent: `sticky`, both variants (the cluster suite's stack). */
  profiles?: string[];
}

/** What the cluster suite's global setup hands to the test files (through the environment). */
export interface ClusterInfo extends StackInfo {
  stickyUrl: string;
}

/** A suite's stack, as its global setup handed it on in the environment variable `variable` (JSON). */
export function stackFromEnv<T extends StackInfo>(variable: string, suite: string, command: string): T {
  const raw = process.env[variable];
  if (!raw) throw new Error(`${variable} is not set: run the ${suite} through \`${command}\``);
  return JSON.parse(raw) as T;
}

/** A suite's global teardown: its stack down with its volumes, unless KEEP_CLUSTER=1 or it never came up. */
export function tearDownStack(info: StackInfo | undefined): void {
  if (!info) return;
  if (process.env.KEEP_CLUSTER === '1') {
    console.log(`KEEP_CLUSTER=1: project ${info.project} left running`);
    return;
  }
  // --remove-orphans also takes containers a test started under the project's label (fault 3's placeholder).
  stackCompose(info).run(['down', '-v', '--remove-orphans'], 300_000);
}

export function clusterInfo(): ClusterInfo {
  return stackFromEnv<ClusterInfo>('SC_CLUSTER', 'cluster suite', 'npm run test:cluster');
}

/** The suite's stack, as its global setup started it. */
export function clusterCompose(): Compose {
  return stackCompose(clusterInfo());
}

/** A compose handle on a stack a global setup started. */
export function stackCompose({ project, env, profiles }: StackInfo): Compose {
  return new Compose(project, env, profiles ? { profiles } : {});
}

/**
 * Prints a scenario's figures and appends them to .artifacts/<file> (cluster-figures.jsonl unless told)
 * for the closing report.
 */
export function reportFigures(scenario: string, figures: Record<string, unknown>, file = 'cluster-figures.jsonl'): void {
  const line = JSON.stringify({ scenario, at: new Date().toISOString(), ...figures });
  console.log(line);
  mkdirSync(path.join(ROOT, '.artifacts'), { recursive: true });
  appendFileSync(path.join(ROOT, '.artifacts', file), `${line}\n`);
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
  compose.run(['down', '-v', '--remove-orphans']);
  const started = Date.now();
  compose.run(['up', '-d', '--build'], 900_000);
  await compose.waitHealthy(services, timeoutMs);
  return (Date.now() - started) / 1000;
}

/**
 * The `docker compose` plugin (Compose v2) when Docker has it, else docker-compose v1 where that is all
 * there is: the compose file works with both. SC_COMPOSE=v1|v2 picks one.
 */
function composeCommand(): string[] {
  const v2 = () => spawnSync('docker', ['compose', 'version'], { stdio: 'ignore' }).status === 0;
  if (process.env.SC_COMPOSE === 'v1') return ['docker-compose'];
  if (process.env.SC_COMPOSE === 'v2' || v2()) return ['docker', 'compose'];
  return ['docker-compose'];
}

const COMPOSE = composeCommand();

/** The compose stack of one project, driven the way a person at a terminal would drive it. */
export interface ComposeOptions {
  /** Compose profiles to run with (default: sticky, both variants). */
  profiles?: string[];
  /** Override files applied over docker-compose.yml, relative to the repository root or absolute. */
  files?: string[];
}

export class Compose {
  private readonly profiles: string[];
  private readonly files: string[];

  constructor(
    readonly project: string,
    private readonly env: Record<string, string> = {},
    options: ComposeOptions = {},
  ) {
    this.profiles = options.profiles ?? ['sticky'];
    this.files = options.files ?? [];
  }

  /** The same project with more environment (e.g. REDIS_APPENDFSYNC) or override files. */
  with({ env = {}, files = [] }: { env?: Record<string, string>; files?: string[] }): Compose {
    return new Compose(this.project, { ...this.env, ...env }, { profiles: this.profiles, files: [...this.files, ...files] });
  }

  /** Runs `docker compose -p <project> --profile sticky <args>`; throws with its output on failure. */
  run(args: string[], timeoutMs = 120_000): string {
    const [bin, ...pre] = COMPOSE as [string, ...string[]];
    const files = this.files.length ? ['docker-compose.yml', ...this.files].flatMap((f) => ['-f', f]) : [];
    const profiles = this.profiles.flatMap((p) => ['--profile', p]);
    const result = spawnSync(bin, [...pre, '-p', this.project, ...files, ...profiles, ...args], {
      cwd: ROOT,
      env: { ...process.env, ...this.env },
      encoding: 'utf8',
      timeout: timeoutMs,
    });
    if (result.status !== 0) {
      throw new Error(`${COMPOSE.join(' ')} ${args.join(' ')} failed (${result.status ?? result.signal}):\n${result.stdout}\n${result.stderr}`);
    }
    return result.stdout;
  }

  kill(service: string): void {
    this.run(['kill', service]);
  }

  stop(service: string): void {
    this.run(['stop', service]);
  }

  start(service: string): void {
    this.run(['start', service]);
  }

  /** Freezes every process of the service (SIGSTOP through the cgroup freezer): it keeps its sockets, answers nothing. */
  pause(service: string): void {
    this.run(['pause', service]);
  }

  unpause(service: string): void {
    this.run(['unpause', service]);
  }

  /** `redis-cli` inside a Redis or Sentinel container (the password comes from REDISCLI_AUTH there). */
  redisCli(service: string, ...args: string[]): string {
    const result = spawnSync('docker', ['exec', this.containerId(service), 'redis-cli', ...args], { encoding: 'utf8', timeout: 15_000 });
    if (result.status !== 0) throw new Error(`redis-cli ${args.join(' ')} in ${service} failed (${result.status ?? result.signal}): ${result.stderr}`);
    return result.stdout.trim();
  }

  /** The service's container, running or not ('' when there is none), found by compose's labels. */
  containerId(service: string): string {
    const out = spawnSync(
      'docker',
      ['ps', '-aq', '--filter', `label=com.docker.compose.project=${this.project}`, '--filter', `label=com.docker.compose.service=${service}`, '--filter', 'label=com.docker.compose.oneoff=False'],
      { encoding: 'utf8', timeout: 30_000 },
    );
    return out.stdout.trim().split('\n')[0] ?? '';
  }

  /** `docker inspect -f <format>` of the service's container. */
  inspect(service: string, format: string): string {
    const id = this.containerId(service);
    if (!id) throw new Error(`no container for ${service} in project ${this.project}`);
    const out = spawnSync('docker', ['inspect', '-f', format, id], { encoding: 'utf8', timeout: 30_000 });
    if (out.status !== 0) throw new Error(`docker inspect ${service} failed: ${out.stderr}`);
    return out.stdout.trim();
  }

  /** What the service's container printed since `since` (stdout and stderr). */
  logsSince(service: string, since: Date): string {
    const out = spawnSync('docker', ['logs', '--since', since.toISOString(), this.containerId(service)], { encoding: 'utf8', timeout: 30_000, maxBuffer: 64 * 1024 * 1024 });
    return `${out.stdout}${out.stderr}`;
  }

  /** The service Sentinel names primary (it announces hostnames, which are service names); the first Sentinel that answers is asked. */
  sentinelPrimary(sentinels = SENTINEL_SERVICES): string {
    for (const sentinel of sentinels) {
      try {
        const host = this.redisCli(sentinel, '-p', '26379', 'sentinel', 'get-master-addr-by-name', MASTER_NAME).split('\n')[0]?.trim();
        if (host) return host;
      } catch {
        // Down or not answering: ask the next one.
      }
    }
    throw new Error('no Sentinel named a primary');
  }

  /** The container's health as Docker sees it: healthy, unhealthy, starting, or its state when not running. */
  health(service: string): string {
    const id = this.containerId(service);
    if (!id) return 'absent';
    const out = spawnSync('docker', ['inspect', '-f', '{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{end}}', id], { encoding: 'utf8' });
    const [state, health] = out.stdout.trim().split(' ');
    return state === 'running' ? (health ?? 'running') : (state ?? 'unknown');
  }

  async waitHealthy(services: string[], timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const states = services.map((s) => [s, this.health(s)] as const);
      if (states.every(([, h]) => h === 'healthy')) return;
      if (Date.now() > deadline) throw new Error(`not healthy within ${timeoutMs} ms: ${states.map(([s, h]) => `${s}=${h}`).join(', ')}`);
      await sleep(1000);
    }
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The name the Sentinels monitor the primary under (redis/sentinel.conf, REDIS_MASTER_NAME in docker-compose.yml). */
export const MASTER_NAME = 'mymaster';
export const APP_SERVICES = ['app-1', 'app-2', 'app-3'];
export const STICKY_SERVICES = ['sticky-1', 'sticky-2', 'sticky-3'];
export const REDIS_NODES = ['redis-primary', 'redis-replica'];
export const SENTINEL_SERVICES = ['sentinel-1', 'sentinel-2', 'sentinel-3'];
export const REDIS_SERVICES = [...REDIS_NODES, ...SENTINEL_SERVICES];
/** The default profile: the Redis variant alone. */
export const REDIS_VARIANT_SERVICES = [...REDIS_SERVICES, ...APP_SERVICES, 'nginx'];
export const ALL_SERVICES = [...REDIS_VARIANT_SERVICES, ...STICKY_SERVICES, 'nginx-sticky'];
