// What the Sentinels say: who is primary, their records of it and of the replica, and a node's replication.
import type { RedisCliHost } from './docker';
import { SENTINEL_SERVICES } from './services';

/**
 * The name the Sentinels monitor the primary under: redis/sentinel.conf, REDIS_MASTER_NAME in
 * docker-compose.yml and the app's default (test/unit/toolkit.test.ts holds them together).
 */
export const MASTER_NAME = 'mymaster';

/** `redis-cli -p 26379 sentinel <args>` in a Sentinel's container. */
export function sentinelCommand(host: RedisCliHost, sentinel: string, ...args: string[]): string {
  return host.redisCli(sentinel, '-p', '26379', 'sentinel', ...args);
}

/** The primary one Sentinel names (it announces hostnames, which are service names); undefined when it does not answer. */
export function primaryNamedBy(host: RedisCliHost, sentinel: string): string | undefined {
  try {
    return sentinelCommand(host, sentinel, 'get-master-addr-by-name', MASTER_NAME).split(/\r?\n/)[0]?.trim() || undefined;
  } catch {
    return undefined;
  }
}

/** The service Sentinel names primary: the first Sentinel that answers is asked. */
export function sentinelPrimary(host: RedisCliHost, sentinels = SENTINEL_SERVICES): string {
  for (const sentinel of sentinels) {
    const primary = primaryNamedBy(host, sentinel);
    if (primary) return primary;
  }
  throw new Error('no Sentinel named a primary');
}

/** A Sentinel's reply to a command whose answer is a list of records of field, value, field, value… */
export function sentinelFields(host: RedisCliHost, sentinel: string, ...args: string[]): Record<string, string>[] {
  const lines = sentinelCommand(host, sentinel, ...args).split(/\r?\n/);
  const records: Record<string, string>[] = [];
  let current: Record<string, string> = {};
  for (let i = 0; i + 1 < lines.length; i += 2) {
    const [field, value] = [lines[i]!, lines[i + 1]!];
    if (field === 'name' && Object.keys(current).length) {
      records.push(current);
      current = {};
    }
    current[field] = value;
  }
  if (Object.keys(current).length) records.push(current);
  return records;
}

/** `INFO replication` of a Redis node, as key → value. */
export function replicationInfo(host: RedisCliHost, node: string): Record<string, string> {
  return Object.fromEntries(
    host
      .redisCli(node, 'info', 'replication')
      .split(/\r?\n/)
      .filter((line) => line.includes(':') && !line.startsWith('#'))
      .map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1)]),
  );
}

/**
 * Sentinel's own account of a window, one line per event, each Sentinel's lines prefixed with its name:
 * +sdown, +odown, +tilt/-tilt, +try-failover, -failover-abort-…, +promoted-slave, +switch-master,
 * +convert-to-slave… (its `#` and `*` event lines; "Failed to resolve" and config saves left out). What a
 * failure message needs to say why a failover did not happen or did not heal.
 */
export function sentinelEvents(host: { logsSince(service: string, since: Date): string }, since: Date, lastPerSentinel = 25): string[] {
  return SENTINEL_SERVICES.flatMap((sentinel) => {
    let lines: string[];
    try {
      lines = host.logsSince(sentinel, since).split('\n');
    } catch (err) {
      return [`${sentinel}: no logs (${(err as Error).message.split('\n')[0]})`];
    }
    return lines
      .filter((line) => /^\d+:X .* [#*] [+-]/.test(line) && !/Failed to resolve|configuration saved/.test(line))
      .slice(-lastPerSentinel)
      .map((line) => `${sentinel} ${line.replace(/^\d+:X \d+ \w+ \d+ /, '')}`);
  });
}

/** Whether a Sentinel log window holds a TILT (Sentinel's timer stalled > 2 s: 30 s in which it acts on nothing). */
export function tilted(events: string[]): boolean {
  return events.some((line) => line.includes('+tilt'));
}
