import type { OwnedRedis } from './helpers/redis-server';

export default async function globalTeardown(): Promise<void> {
  await (globalThis as { __ownedRedis?: OwnedRedis }).__ownedRedis?.destroy();
}
