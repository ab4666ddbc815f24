import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { composeFilters, containerOf, redisCli, type RedisCliHost } from './docker';
import { sentinelPrimary } from './sentinel';
import { SENTINEL_SERVICES } from './services';
import { sleep } from './time';

export const REPO_ROOT = path.resolve(__dirname, '..');

let detected: string[] | undefined;

/**
 * The `docker compose` plugin (Compose v2) when Docker has it, else docker-compose v1 where that is all
 * there is: the compose file works with both. SC_COMPOSE=v1|v2 picks one. Asked of Docker once, on first use.
 */
export function composeCommand(): string[] {
  if (process.env.SC_COMPOSE === 'v1') return ['docker-compose'];
  if (process.env.SC_COMPOSE === 'v2') return ['docker', 'compose'];
  detected ??= spawnSync('docker', ['compose', 'version'], { stdio: 'ignore' }).status === 0 ? ['docker', 'compose'] : ['docker-compose'];
  return detected;
}

/** The compose stack of one project, driven the way a person at a terminal would drive it. */
export interface ComposeOptions {
  /** Compose profiles to run with (default: sticky, both variants). */
  profiles?: string[];
  /** Override files applied over docker-compose.yml, relative to the repository root or absolute. */
  files?: string[];
}

export class Compose implements RedisCliHost {
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
    const [bin, ...pre] = composeCommand() as [string, ...string[]];
    const files = this.files.length ? ['docker-compose.yml', ...this.files].flatMap((f) => ['-f', f]) : [];
    const profiles = this.profiles.flatMap((p) => ['--profile', p]);
    const result = spawnSync(bin, [...pre, '-p', this.project, ...files, ...profiles, ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...this.env },
      encoding: 'utf8',
      timeout: timeoutMs,
    });
    if (result.status !== 0) {
      // stderr first (the reason), then the end of stdout: a build's output is long and its reason is at the end.
      const tail = (result.stdout ?? '').trimEnd().split('\n').slice(-30).join('\n');
      throw new Error(`${composeCommand().join(' ')} ${args.join(' ')} failed (${result.status ?? result.signal}):\n${result.stderr}\n-- last lines of its output --\n${tail}`);
    }
    return result.stdout;
  }

  /**
   * `down -v --remove-orphans`: the project's containers, networks and volumes. Docker (seen with Engine 20.10,
   * CI run 33) can refuse to remove a network whose containers were all just removed ("has active endpoints")
   * while it still releases their endpoints: that one error gets a second `down` 2 s later, which removes what
   * is left. Any other failure throws at once.
   */
  down(timeoutMs = 300_000): void {
    try {
      this.run(['down', '-v', '--remove-orphans'], timeoutMs);
    } catch (err) {
      if (!/has active endpoints/.test(String((err as Error).message))) throw err;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2000);
      this.run(['down', '-v', '--remove-orphans'], timeoutMs);
    }
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
    return redisCli(this.project, service, ...args);
  }

  /** The service's container, running or not ('' when there is none), found by compose's labels. */
  containerId(service: string): string {
    return containerOf(this.project, service) ?? '';
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
    return sentinelPrimary(this, sentinels);
  }

  /** The container's health as Docker sees it: healthy, unhealthy, starting, or its state when not running. */
  health(service: string): string {
    const id = this.containerId(service);
    if (!id) return 'absent';
    const out = spawnSync('docker', ['inspect', '-f', '{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{end}}', id], { encoding: 'utf8' });
    const [state, health] = out.stdout.trim().split(' ');
    return state === 'running' ? (health ?? 'running') : (state ?? 'unknown');
  }

  /** The last health probes of a service's container (exit code and output, newest last): why it is unhealthy. */
  lastProbes(service: string, count = 2): string[] {
    const id = this.containerId(service);
    if (!id) return [];
    const out = spawnSync('docker', ['inspect', '-f', '{{if .State.Health}}{{json .State.Health.Log}}{{else}}[]{{end}}', id], { encoding: 'utf8', timeout: 30_000 });
    try {
      const log = JSON.parse(out.stdout.trim() || '[]') as { Start: string; ExitCode: number; Output: string }[];
      return log.slice(-count).map((probe) => `${probe.Start} exit ${probe.ExitCode}: ${probe.Output.trim().slice(0, 300)}`);
    } catch {
      return [];
    }
  }

  /**
   * Every service's health in one `docker ps` (healthy, unhealthy, starting, or the state of a container
   * that is not running, e.g. paused, exited).
   */
  healthOfAll(): Map<string, string> {
    const out = spawnSync(
      'docker',
      ['ps', '-a', ...composeFilters(this.project), '--format', '{{.Label "com.docker.compose.service"}}\t{{.State}}\t{{.Status}}'],
      { encoding: 'utf8', timeout: 30_000 },
    );
    const health = new Map<string, string>();
    for (const line of (out.stdout ?? '').trim().split('\n').filter(Boolean)) {
      const [service = '', state = '', status = ''] = line.split('\t');
      const probe = /\((healthy|unhealthy|health: starting)\)/.exec(status)?.[1]?.replace('health: ', '');
      health.set(service, state === 'running' ? (probe ?? 'running') : state);
    }
    return health;
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
