import Redis from 'ioredis';
import { startOwnedRedis, type OwnedRedis } from './redis-server';

/**
 * A Redis of the test file's own and a client on it for the tests' own reads and writes: started before the
 * file's tests, removed after them. Read `owned` and `admin` inside a test or hook, not at the file's top level.
 */
export function ownedRedisForFile(): { readonly owned: OwnedRedis; readonly admin: Redis } {
  const held: { owned?: OwnedRedis; admin?: Redis } = {};
  beforeAll(async () => {
    held.owned = await startOwnedRedis();
    held.admin = new Redis(held.owned.url);
  });
  afterAll(async () => {
    held.admin?.disconnect();
    await held.owned?.destroy();
  });
  return {
    get owned() {
      return held.owned!;
    },
    get admin() {
      return held.admin!;
    },
  };
}
