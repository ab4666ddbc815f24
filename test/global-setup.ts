import Redis from 'ioredis';
import { startOwnedRedisCluster } from './helpers/redis-cluster';
import { productRedisImage, startOwnedRedis } from './helpers/redis-server';

/**
 * One Redis for the integration suite: REDIS_URL when given, else one started here (redis-server from
 * PATH, else Docker). Test files read TEST_REDIS_URL; each test uses its own key prefix space by
 * logging in fresh sessions, and files that must stop Redis start their own. Beside it, a Redis Cluster of six
 * nodes (TEST_REDIS_CLUSTER_NODES, or one started here), the third store mode.
 */
export default async function globalSetup(): Promise<void> {
  await provideRedisCluster();
  if (process.env.REDIS_URL) {
    const probe = new Redis(process.env.REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0 });
    await probe.connect().then(() => probe.ping(), (err: Error) => {
      throw new Error(`REDIS_URL=${process.env.REDIS_URL} does not answer: ${err.message}`);
    });
    probe.disconnect();
    process.env.TEST_REDIS_URL = process.env.REDIS_URL;
    return;
  }
  const redis = await startOwnedRedis();
  process.env.TEST_REDIS_URL = redis.url;
  (globalThis as { __ownedRedis?: typeof redis }).__ownedRedis = redis;
  const probe = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 0 });
  await probe.connect();
  const version = /redis_version:(\S+)/.exec(await probe.info('server'))?.[1];
  probe.disconnect();
  console.log(`integration tests against Redis ${version} (${process.env.TEST_REDIS === 'docker' ? `a ${productRedisImage()} container` : 'redis-server from PATH'}, ${redis.url})`);
}

async function provideRedisCluster(): Promise<void> {
  if (process.env.TEST_REDIS_CLUSTER_NODES) return;
  const cluster = await startOwnedRedisCluster();
  process.env.TEST_REDIS_CLUSTER_NODES = cluster.nodes;
  (globalThis as { __ownedRedisCluster?: typeof cluster }).__ownedRedisCluster = cluster;
  console.log(`integration tests' Redis Cluster: ${cluster.nodes}`);
}
