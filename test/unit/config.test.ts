import { ConfigError, DEV_SESSION_SECRET, loadConfig } from '../../app/src/config';

describe('loadConfig', () => {
  test('when the environment is empty, then the defaults run against a local Redis with the dev secret flagged', () => {
    const config = loadConfig({});

    expect(config.store).toBe('redis');
    expect(config.redis.url).toBe('redis://127.0.0.1:6379');
    expect(config.redis.sentinels).toBeUndefined();
    expect(config.port).toBe(3000);
    expect(config.session.idleTimeoutMs).toBe(1_800_000);
    expect(config.session.absoluteTimeoutMs).toBe(28_800_000);
    expect(config.session.touchAfterMs).toBe(60_000);
    expect(config.session.policy).toEqual({ kind: 'multi' });
    expect(config.session.maxBytes).toBe(10_240);
    expect(config.session.secrets).toEqual([DEV_SESSION_SECRET]);
    expect(config.session.usesDevSecret).toBe(true);
    expect(config.keepAliveTimeoutMs).toBe(65_000);
    expect(config.redis.autoPipelining).toBe(false);
  });

  test('when REDIS_AUTO_PIPELINING is true, then the Redis client is to pipeline automatically', () => {
    expect(loadConfig({ REDIS_AUTO_PIPELINING: 'true' }).redis.autoPipelining).toBe(true);
    expect(loadConfig({ REDIS_AUTO_PIPELINING: 'false' }).redis.autoPipelining).toBe(false);
  });

  test('when a variable is set to the empty string, then it counts as unset', () => {
    const config = loadConfig({ PORT: '', SESSION_STORE: '' });

    expect(config.port).toBe(3000);
    expect(config.store).toBe('redis');
  });

  test.each([
    ['PORT', { PORT: 'abc' }],
    ['PORT', { PORT: '70000' }],
    ['SESSION_STORE', { SESSION_STORE: 'disk' }],
    ['SESSION_POLICY', { SESSION_POLICY: 'max:0' }],
    ['SESSION_POLICY', { SESSION_POLICY: 'bogus' }],
    ['REDIS_SENTINELS', { REDIS_SENTINELS: 'nohost' }],
    ['REDIS_URL', { REDIS_URL: 'http://127.0.0.1:6379' }],
    ['REDIS_AUTO_PIPELINING', { REDIS_AUTO_PIPELINING: 'yes' }],
    ['REDIS_TLS_CA_FILE', { REDIS_TLS_CA_FILE: '/nonexistent/ca.pem' }],
    ['SESSION_SECRETS', { SESSION_SECRETS: 'short' }],
    ['SESSION_SECRETS', { SESSION_SECRETS: 'a-long-enough-secret-value,short' }],
    ['SESSION_IDLE_TIMEOUT_S', { SESSION_IDLE_TIMEOUT_S: '0' }],
    ['SESSION_TOUCH_AFTER_S', { SESSION_IDLE_TIMEOUT_S: '60', SESSION_TOUCH_AFTER_S: '60' }],
    ['SESSION_TOUCH_AFTER_S', { SESSION_IDLE_TIMEOUT_S: '60', SESSION_TOUCH_AFTER_S: '61' }],
    ['SESSION_WRITE_DURABILITY', { SESSION_WRITE_DURABILITY: 'sync' }],
    ['SESSION_WRITE_DURABILITY', { SESSION_WRITE_DURABILITY: 'replicated', SESSION_STORE: 'memory' }],
    ['SESSION_WRITE_WAIT_MS', { SESSION_WRITE_WAIT_MS: '0' }],
    ['SESSION_WRITE_WAIT_MS', { SESSION_WRITE_DURABILITY: 'replicated', SESSION_WRITE_WAIT_MS: '800' }],
    ['SESSION_WRITE_WAIT_MS', { SESSION_WRITE_DURABILITY: 'replicated', SESSION_WRITE_WAIT_MS: '300', REDIS_COMMAND_TIMEOUT_MS: '200' }],
    ['SESSION_WRITE_REPLICAS', { SESSION_WRITE_REPLICAS: '0' }],
    ['SESSION_WRITE_REPLICAS', { SESSION_WRITE_REPLICAS: 'two' }],
    ['SESSION_REMEMBER_IDLE_TIMEOUT_S', { SESSION_REMEMBER_IDLE_TIMEOUT_S: '0' }],
    ['SESSION_REMEMBER_ABSOLUTE_TIMEOUT_S', { SESSION_REMEMBER_ABSOLUTE_TIMEOUT_S: 'a month' }],
    ['SESSION_TOUCH_AFTER_S', { SESSION_REMEMBER_IDLE_TIMEOUT_S: '60', SESSION_TOUCH_AFTER_S: '60' }],
    ['REDIS_DOWN_POLICY', { REDIS_DOWN_POLICY: 'stale' }],
    ['REDIS_DOWN_POLICY', { REDIS_DOWN_POLICY: 'read-only', SESSION_STORE: 'memory' }],
    ['SESSION_SNAPSHOT_TTL_S', { SESSION_SNAPSHOT_TTL_S: '0' }],
    ['SESSION_SNAPSHOT_TTL_S', { SESSION_SNAPSHOT_TTL_S: '3601' }],
  ])('when %s is bad (%j), then a ConfigError names it', (variable, env) => {
    let thrown: unknown;

    try {
      loadConfig(env);
    } catch (err) {
      thrown = err;
    }

    expect(thrown).toBeInstanceOf(ConfigError);
    expect((thrown as Error).message).toContain(variable);
  });

  test('when several variables are bad, then the one error names each of them', () => {
    expect(() => loadConfig({ PORT: 'abc', SESSION_STORE: 'disk' })).toThrow(/PORT[\s\S]*SESSION_STORE|SESSION_STORE[\s\S]*PORT/);
  });

  test.each([
    ['max:1', { kind: 'max', max: 1 }],
    ['max:3', { kind: 'max', max: 3 }],
    ['max:999', { kind: 'max', max: 999 }],
    ['single', { kind: 'single' }],
    ['multi', { kind: 'multi' }],
  ])('when SESSION_POLICY=%s, then the policy is %j', (value, expected) => {
    expect(loadConfig({ SESSION_POLICY: value }).session.policy).toEqual(expected);
  });

  test('when REDIS_SENTINELS lists host:port pairs, then each becomes a host and a numeric port', () => {
    const config = loadConfig({ REDIS_SENTINELS: 'sentinel-1:26379, sentinel-2:26380,10.0.0.7:26381', REDIS_MASTER_NAME: 'sessions' });

    expect(config.redis.sentinels).toEqual([
      { host: 'sentinel-1', port: 26379 },
      { host: 'sentinel-2', port: 26380 },
      { host: '10.0.0.7', port: 26381 },
    ]);
    expect(config.redis.masterName).toBe('sessions');
  });

  test('when SESSION_SECRETS lists several secrets, then all are kept in order and the dev flag is off', () => {
    const config = loadConfig({ SESSION_SECRETS: 'first-secret-0123456789, second-secret-0123456789' });

    expect(config.session.secrets).toEqual(['first-secret-0123456789', 'second-secret-0123456789']);
    expect(config.session.usesDevSecret).toBe(false);
  });

  test('when SESSION_TOUCH_AFTER_S is 0, then every request extends the session', () => {
    expect(loadConfig({ SESSION_IDLE_TIMEOUT_S: '2', SESSION_TOUCH_AFTER_S: '0' }).session.touchAfterMs).toBe(0);
  });

  test('when SESSION_WRITE_DURABILITY is unset, then writes are acknowledged by the primary alone, whatever the wait settings say', () => {
    expect(loadConfig({}).session.writes).toEqual({ durability: 'async' });
    expect(loadConfig({ SESSION_WRITE_WAIT_MS: '5000', SESSION_WRITE_REPLICAS: '2' }).session.writes).toEqual({ durability: 'async' });
  });

  test.each([
    ['one Redis', {}],
    ['Sentinel', { REDIS_SENTINELS: 'sentinel-1:26379' }],
    ['a Redis Cluster', { REDIS_CLUSTER_NODES: 'redis-node-1:6379' }],
  ])('when SESSION_WRITE_DURABILITY=replicated on %s, then writes wait for 1 replica up to 250 ms, or as told', (_mode, env) => {
    expect(loadConfig({ ...env, SESSION_WRITE_DURABILITY: 'replicated' }).session.writes).toEqual({ durability: 'replicated', waitMs: 250, replicas: 1 });
    expect(loadConfig({ ...env, SESSION_WRITE_DURABILITY: 'replicated', SESSION_WRITE_WAIT_MS: '40', SESSION_WRITE_REPLICAS: '2' }).session.writes).toEqual({
      durability: 'replicated',
      waitMs: 40,
      replicas: 2,
    });
  });

  test('when the remembered timeouts are unset, then a remembered session lasts 7 days idle and 30 days in all, extended at 1/30 of its idle window', () => {
    expect(loadConfig({}).session.remember).toEqual({ idleTimeoutMs: 604_800_000, absoluteTimeoutMs: 2_592_000_000, touchAfterMs: 20_160_000 });
    expect(loadConfig({ SESSION_TOUCH_AFTER_S: '5' }).session.remember.touchAfterMs).toBe(5_000);
  });

  test('when REDIS_DOWN_POLICY is unset, then a store outage fails (503); read-only keeps snapshots for 60 s, or as told', () => {
    expect(loadConfig({}).session.redisDown).toEqual({ policy: 'fail' });
    expect(loadConfig({ REDIS_DOWN_POLICY: 'read-only' }).session.redisDown).toEqual({ policy: 'read-only', snapshotTtlMs: 60_000 });
    expect(loadConfig({ REDIS_DOWN_POLICY: 'read-only', SESSION_SNAPSHOT_TTL_S: '5' }).session.redisDown).toEqual({ policy: 'read-only', snapshotTtlMs: 5_000 });
  });

  test('when replicated writes meet the memory store, then the error says why', () => {
    expect(() => loadConfig({ SESSION_WRITE_DURABILITY: 'replicated', SESSION_STORE: 'memory' })).toThrow(/SESSION_WRITE_DURABILITY: replicated needs SESSION_STORE=redis: the memory store has no replicas/);
  });

  test('when the config is loaded, then it is frozen', () => {
    const config = loadConfig({});

    expect(Object.isFrozen(config)).toBe(true);
    expect(() => {
      (config as { port: number }).port = 1;
    }).toThrow(TypeError);
    expect(config.port).toBe(3000);
  });
});
