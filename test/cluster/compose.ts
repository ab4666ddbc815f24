import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');

/** What the cluster suite's global setup hands to the test files (through the environment). */
export interface ClusterInfo {
  project: string;
  httpUrl: string;
  stickyUrl: string;
  /** The environment the stack was started with (host ports): every later compose call passes it again. */
  env: Record<string, string>;
}

export function clusterInfo(): ClusterInfo {
  const raw = process.env.SC_CLUSTER;
  if (!raw) throw new Error('SC_CLUSTER is not set: run the cluster suite through `npm run test:cluster`');
  return JSON.parse(raw) as ClusterInfo;
}

/** The suite's stack, as its global setup started it. */
export function clusterCompose(): Compose {
  const { project, env } = clusterInfo();
  return new Compose(project, env);
}

/** Prints a scenario's figures and appends them to .artifacts/cluster-figures.jsonl for the closing report. */
export function reportFigures(scenario: string, figures: Record<string, unknown>): void {
  const line = JSON.stringify({ scenario, at: new Date().toISOString(), ...figures });
  console.log(line);
  mkdirSync(path.join(ROOT, '.artifacts'), { recursive: true });
  appendFileSync(path.join(ROOT, '.artifacts', 'cluster-figures.jsonl'), `${line}\n`);
}

/** docker-compose v1 when installed, else the `docker compose` plugin: the compose file works with both. */
function composeCommand(): string[] {
  if (spawnSync('docker-compose', ['version'], { stdio: 'ignore' }).status === 0) return ['docker-compose'];
  return ['docker', 'compose'];
}

const COMPOSE = composeCommand();

/** The compose stack of one project, driven the way a person at a terminal would drive it. */
export class Compose {
  constructor(
    readonly project: string,
    private readonly env: Record<string, string> = {},
  ) {}

  /** Runs `docker-compose -p <project> --profile sticky <args>`; throws with its output on failure. */
  run(args: string[], timeoutMs = 120_000): string {
    const [bin, ...pre] = COMPOSE as [string, ...string[]];
    const result = spawnSync(bin, [...pre, '-p', this.project, '--profile', 'sticky', ...args], {
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

  /** `redis-cli` inside a Redis or Sentinel container (the password comes from REDISCLI_AUTH there). */
  redisCli(service: string, ...args: string[]): string {
    const result = spawnSync('docker', ['exec', this.containerId(service), 'redis-cli', ...args], { encoding: 'utf8', timeout: 15_000 });
    if (result.status !== 0) throw new Error(`redis-cli ${args.join(' ')} in ${service} failed (${result.status ?? result.signal}): ${result.stderr}`);
    return result.stdout.trim();
  }

  containerId(service: string): string {
    return this.run(['ps', '-q', service]).trim();
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

export const APP_SERVICES = ['app-1', 'app-2', 'app-3'];
export const STICKY_SERVICES = ['sticky-1', 'sticky-2', 'sticky-3'];
export const REDIS_SERVICES = ['redis-primary', 'redis-replica', 'sentinel-1', 'sentinel-2', 'sentinel-3'];
export const ALL_SERVICES = [...REDIS_SERVICES, ...APP_SERVICES, 'nginx', ...STICKY_SERVICES, 'nginx-sticky'];
