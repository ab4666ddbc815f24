import type Redis from 'ioredis';

/** How many times the Redis behind `redis` has run each command (INFO commandstats), by command name. */
export async function commandCalls(redis: Redis): Promise<Map<string, number>> {
  const info = await redis.info('commandstats');
  return new Map([...info.matchAll(/^cmdstat_(\S+?):calls=(\d+)/gm)].map((m) => [m[1]!, Number(m[2])]));
}

/** The commands run between two readings, the INFO that took the first left out (it is counted in the second). */
export function commandsBetween(before: Map<string, number>, after: Map<string, number>): Map<string, number> {
  const during = new Map<string, number>();
  for (const [name, calls] of after) {
    const delta = calls - (before.get(name) ?? 0) - (name === 'info' ? 1 : 0);
    if (delta > 0) during.set(name, delta);
  }
  return during;
}

/** All the commands of a reading, added up. */
export const totalCalls = (calls: Map<string, number>) => [...calls.values()].reduce((sum, n) => sum + n, 0);
