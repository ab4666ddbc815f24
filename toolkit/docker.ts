// The docker CLI on the containers of a compose project, found by the labels compose gives them: by id, so
// compose v1 or v2 does not matter and one call can hit several services at the same moment.
import { execFileSync, spawnSync } from 'node:child_process';
import { REDIS_NODE_PORTS } from './services';

/** Runs `docker <argv>`: its trimmed output; throws (with its stderr) when it fails. */
export function docker(...argv: string[]): string {
  return execFileSync('docker', argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 }).trim();
}

/** The `docker ps` filters for a project's containers (of one service), one-off ones (`compose run`) left out. */
export function composeFilters(project: string, service?: string): string[] {
  const byService = service ? ['--filter', `label=com.docker.compose.service=${service}`] : [];
  return ['--filter', `label=com.docker.compose.project=${project}`, ...byService, '--filter', 'label=com.docker.compose.oneoff=False'];
}

/** The full id of a service's container, running or not (only a running one with `running`), or null. */
export function containerOf(project: string, service: string, { running = false } = {}): string | null {
  const all = running ? [] : ['-a'];
  const out = spawnSync('docker', ['ps', '-q', '--no-trunc', ...all, ...composeFilters(project, service)], { encoding: 'utf8', timeout: 30_000 });
  return (out.stdout ?? '').trim().split('\n')[0] || null;
}

/** Something that runs `redis-cli` inside a service's container: a Compose, or projectRedisCli. */
export interface RedisCliHost {
  redisCli(service: string, ...args: string[]): string;
}

/**
 * `redis-cli` inside a Redis or Sentinel container (the password comes from REDISCLI_AUTH there), on the
 * node's own port (REDIS_NODE_PORTS) unless the arguments name one.
 */
export function redisCli(project: string, service: string, ...args: string[]): string {
  const id = containerOf(project, service) ?? '';
  const port = args[0] !== '-p' && REDIS_NODE_PORTS[service] ? ['-p', String(REDIS_NODE_PORTS[service])] : [];
  const result = spawnSync('docker', ['exec', id, 'redis-cli', ...port, ...args], { encoding: 'utf8', timeout: 15_000 });
  if (result.status !== 0) throw new Error(`redis-cli ${args.join(' ')} in ${service} failed (${result.status ?? result.signal}): ${result.stderr}`);
  return result.stdout.trim();
}

/**
 * `redis-cli <args>` in a Redis container given by id, on the port the node's own config names (start.sh
 * writes it to /data/redis.conf; none: 6379), as the compose file's healthcheck asks it.
 */
export function containerRedisCli(id: string, ...args: string[]): string {
  const script = 'p=$(sed -n "s/^port //p" /data/redis.conf 2>/dev/null | tail -n 1); exec redis-cli -p "${p:-6379}" "$@"';
  return docker('exec', id, 'sh', '-c', script, 'redis-cli', ...args);
}

export function projectRedisCli(project: string): RedisCliHost {
  return { redisCli: (service, ...args) => redisCli(project, service, ...args) };
}
