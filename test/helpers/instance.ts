import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { createApp, type ClusterApp } from '../../app/src/app';
import { loadConfig, type Config } from '../../app/src/config';
import { closeRedisClient, createRedisClient, type RedisClient } from '../../app/src/redis';
import { SessionKeys } from '../../app/src/session/keys';

export const TEST_SECRET = 'test-secret-0123456789abcdef';
/** The key names the test instances use (their SESSION_TAG_SECRET is TEST_SECRET, the first session secret). */
export const TEST_KEYS = new SessionKeys(TEST_SECRET);

/** One app instance as the cluster runs it, listening on a random loopback port. */
export interface TestInstance {
  url: string;
  config: Readonly<Config>;
  cluster: ClusterApp;
  /** The instance's own Redis client (absent in memory mode). */
  redis?: RedisClient;
  /** Its client for the session writes, when they wait for replicas (SESSION_WRITE_DURABILITY=replicated). */
  writeRedis?: RedisClient;
  close(): Promise<void>;
}

/** The integration suite's Redis Cluster, as REDIS_CLUSTER_NODES takes it. */
export function testClusterNodes(): string {
  const nodes = process.env.TEST_REDIS_CLUSTER_NODES;
  if (!nodes) throw new Error('TEST_REDIS_CLUSTER_NODES is not set: run through jest (its global setup provides a Redis Cluster)');
  return nodes;
}

export function testRedisUrl(): string {
  const url = process.env.TEST_REDIS_URL;
  if (!url) throw new Error('TEST_REDIS_URL is not set: run through jest (its global setup provides Redis)');
  return url;
}

/**
 * Starts an instance. Several instances started with the same REDIS_URL share sessions, exactly as
 * the containers of the cluster do. Environment entries override the test defaults.
 * `waitForRedis: false` starts it even while its Redis is down, as a container may be.
 * `heartbeat: false` leaves the live view's heartbeat off (tests that count the session path's commands).
 */
export async function startInstance(env: Record<string, string> = {}, { waitForRedis = true, heartbeat = true } = {}): Promise<TestInstance> {
  const config = loadConfig({
    REDIS_URL: testRedisUrl(),
    LOG_LEVEL: 'silent',
    SESSION_SECRETS: TEST_SECRET,
    ...env,
  });
  const logger = pino({ level: 'silent' });
  // The production client factory, so its timeout and reconnect policy are what the tests see; as server.ts
  // does, a second client for the writes when they wait for replicas.
  const redis = config.store === 'redis' ? createRedisClient(config.redis, logger) : undefined;
  const writeRedis = redis && config.session.writes.durability === 'replicated' ? createRedisClient(config.redis, logger) : undefined;
  for (const client of [redis, writeRedis]) {
    if (client && waitForRedis && client.status !== 'ready') await new Promise((resolve) => client.once('ready', resolve));
  }
  const cluster = createApp({ config, logger, redis, writeRedis, heartbeat });
  const server: Server = cluster.app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    config,
    cluster,
    redis,
    writeRedis,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await cluster.close();
      await Promise.all([redis, writeRedis].map((client) => client && closeRedisClient(client)));
    },
  };
}

/**
 * For a test file whose tests start instances of their own: returns a starter (`defaults` under each test's
 * env) and closes every instance it started after the file's last test.
 */
export function instancesForFile(defaults: Record<string, string> = {}): (env?: Record<string, string>) => Promise<TestInstance> {
  const started: TestInstance[] = [];
  afterAll(async () => {
    await Promise.all(started.map((instance) => instance.close()));
  });
  return async (env = {}) => {
    const instance = await startInstance({ ...defaults, ...env });
    started.push(instance);
    return instance;
  };
}

/** A store mode the product has: its env, and whether two instances on it share their sessions. */
export interface StoreMode {
  mode: 'redis' | 'redis-cluster' | 'memory';
  store: 'redis' | 'memory';
  env: Record<string, string>;
  shared: boolean;
}

/** Every store mode, for `describe.each`: Redis (standalone), the test Redis Cluster, and in-process memory. */
export function storeModes(): StoreMode[] {
  return [
    { mode: 'redis', store: 'redis', env: { SESSION_STORE: 'redis' }, shared: true },
    { mode: 'redis-cluster', store: 'redis', env: { SESSION_STORE: 'redis', REDIS_CLUSTER_NODES: testClusterNodes() }, shared: true },
    { mode: 'memory', store: 'memory', env: { SESSION_STORE: 'memory' }, shared: false },
  ];
}

/**
 * Two instances on one store where the store is shared; the memory store has one, whose sessions are its own.
 * A tag secret of their own gives them user indexes and statistics of their own: what a test lists, ends or
 * counts are its own sessions, never those of another test (or file) logged in as the same user on the same Redis.
 */
export function instancePairs(start: (env?: Record<string, string>) => Promise<TestInstance>, prefix: string, { env, shared }: StoreMode) {
  return async (extra: Record<string, string> = {}): Promise<[TestInstance, TestInstance]> => {
    const own = { ...env, ...extra, SESSION_TAG_SECRET: `${prefix}-${randomUUID()}` };
    const a = await start({ ...own, INSTANCE_ID: `${prefix}-a` });
    return [a, shared ? await start({ ...own, INSTANCE_ID: `${prefix}-b` }) : a];
  };
}
