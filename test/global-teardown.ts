import type { OwnedRedisCluster } from './helpers/redis-cluster';
import type { OwnedRedis } from './helpers/redis-server';

export default async function globalTeardown(): Promise<void> {
  const owned = globalThis as { __ownedRedis?: OwnedRedis; __ownedRedisCluster?: OwnedRedisCluster };
  await Promise.all([owned.__ownedRedis?.destroy(), owned.__ownedRedisCluster?.destroy()]);
}
