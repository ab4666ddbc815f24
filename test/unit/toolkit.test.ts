import { readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { envSchema } from '../../app/src/config';
import { benchSettings, envNumber } from '../../loadtest/tools/bench/settings';
import { composeCommand } from '../../toolkit/compose';
import { composeFilters, type RedisCliHost } from '../../toolkit/docker';
import { k6Command, waitForK6Scenarios } from '../../toolkit/k6';
import { freePort } from '../../toolkit/ports';
import { MASTER_NAME, primaryNamedBy, replicationInfo, sentinelFields, sentinelPrimary } from '../../toolkit/sentinel';
import { ALL_SERVICES, nodeAddress, REDIS_NODE_PORTS, REDIS_NODES, REDIS_VARIANT_SERVICES, SENTINEL_SERVICES } from '../../toolkit/services';
import { waitFor } from '../../toolkit/time';

const repoFile = (file: string) => readFileSync(path.resolve(__dirname, '../..', file), 'utf8');

/** A stand-in for redis-cli in the containers: each service answers from a table, or throws (down). */
const fakeCli = (answers: Record<string, string | Error>): RedisCliHost & { asked: string[][] } => {
  const asked: string[][] = [];
  return {
    asked,
    redisCli(service, ...args) {
      asked.push([service, ...args]);
      const answer = answers[service];
      if (answer === undefined || answer instanceof Error) throw answer ?? new Error(`${service} down`);
      return answer;
    },
  };
};

describe('the master name', () => {
  test("is the one docker-compose.yml gives the apps (REDIS_MASTER_NAME), the app's default, and the one the Sentinels monitor", () => {
    expect(/^\s+REDIS_MASTER_NAME: (\S+)$/m.exec(repoFile('docker-compose.yml'))?.[1]).toBe(MASTER_NAME);
    expect(envSchema.parse({}).REDIS_MASTER_NAME).toBe(MASTER_NAME);
    expect(/^sentinel monitor (\S+) /m.exec(repoFile('redis/sentinel.conf'))?.[1]).toBe(MASTER_NAME);
  });
});

describe('Sentinel lookups', () => {
  test('the primary is what the first answering Sentinel names, asked under the master name', () => {
    const cli = fakeCli({ 'sentinel-2': 'redis-replica\n6379\n' });
    expect(sentinelPrimary(cli)).toBe('redis-replica');
    expect(cli.asked).toEqual(['sentinel-1', 'sentinel-2'].map((s) => [s, '-p', '26379', 'sentinel', 'get-master-addr-by-name', MASTER_NAME]));
  });

  test('throws when no Sentinel names one; a Sentinel that is down names none', () => {
    expect(() => sentinelPrimary(fakeCli({ 'sentinel-3': '' }))).toThrow('no Sentinel named a primary');
    expect(primaryNamedBy(fakeCli({}), 'sentinel-1')).toBeUndefined();
  });

  test("a Sentinel's records come apart at each `name` field", () => {
    const reply = ['name', 'redis-replica', 'ip', 'redis-replica', 'flags', 'slave', 'name', 'other', 'flags', 's_down'].join('\n');
    expect(sentinelFields(fakeCli({ 'sentinel-1': reply }), 'sentinel-1', 'replicas', MASTER_NAME)).toEqual([
      { name: 'redis-replica', ip: 'redis-replica', flags: 'slave' },
      { name: 'other', flags: 's_down' },
    ]);
  });

  test('INFO replication as key → value, headings left out, values with colons kept whole', () => {
    const info = '# Replication\r\nrole:master\r\nslave0:ip=redis-replica,port=6379,state=online\r\nmaster_replid:abc\r\n';
    expect(replicationInfo(fakeCli({ 'redis-primary': info }), 'redis-primary')).toEqual({ role: 'master', slave0: 'ip=redis-replica,port=6379,state=online', master_replid: 'abc' });
  });
});

describe('compose', () => {
  const saved = process.env.SC_COMPOSE;
  afterEach(() => {
    if (saved === undefined) delete process.env.SC_COMPOSE;
    else process.env.SC_COMPOSE = saved;
  });

  test('SC_COMPOSE picks v1 (docker-compose) or v2 (the docker compose plugin)', () => {
    process.env.SC_COMPOSE = 'v1';
    expect(composeCommand()).toEqual(['docker-compose']);
    process.env.SC_COMPOSE = 'v2';
    expect(composeCommand()).toEqual(['docker', 'compose']);
  });

  test("containers are picked by the project's and service's labels, one-off containers left out", () => {
    expect(composeFilters('scbench', 'app-1')).toEqual([
      '--filter', 'label=com.docker.compose.project=scbench',
      '--filter', 'label=com.docker.compose.service=app-1',
      '--filter', 'label=com.docker.compose.oneoff=False',
    ]);
    expect(composeFilters('scbench')).not.toContain('label=com.docker.compose.service=app-1');
  });

  test('the service lists name services of docker-compose.yml, the Redis variant inside both', () => {
    const file = repoFile('docker-compose.yml');
    for (const service of ALL_SERVICES) expect(file).toMatch(new RegExp(`^  ${service}:`, 'm'));
    expect(ALL_SERVICES).toEqual(expect.arrayContaining(REDIS_VARIANT_SERVICES));
    expect(ALL_SERVICES).toEqual(expect.arrayContaining(SENTINEL_SERVICES));
  });

  test("each Sentinel-managed node's port is the one its role file gives it, and no two share one", () => {
    const roleFile: Record<string, string> = { 'redis-primary': 'primary.conf', 'redis-replica': 'replica.conf', 'redis-replica-2': 'replica-2.conf' };
    const fromFiles = Object.fromEntries(REDIS_NODES.map((node) => [node, Number(/^port (\d+)$/m.exec(repoFile(`redis/${roleFile[node]}`))?.[1])]));

    expect(fromFiles).toEqual(REDIS_NODE_PORTS);
    expect(new Set(Object.values(REDIS_NODE_PORTS)).size).toBe(REDIS_NODES.length);
    // The replicas start as replicas of the primary at its port; the Sentinels monitor it there.
    for (const file of ['replica.conf', 'replica-2.conf']) expect(repoFile(`redis/${file}`)).toMatch(new RegExp(`^replicaof ${nodeAddress('redis-primary').replace(':', ' ')}$`, 'm'));
    expect(repoFile('redis/sentinel.conf')).toMatch(new RegExp(`^sentinel monitor ${MASTER_NAME} ${nodeAddress('redis-primary').replace(':', ' ')} 2$`, 'm'));
  });
});

describe('k6', () => {
  const saved = { K6: process.env.K6, SC_COMPOSE: process.env.SC_COMPOSE };
  afterEach(() => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });
  const run = { script: 'bench/01.ramp.ts', apiPort: 6000, k6Args: ['-e', 'RATE=10'], container: { name: 'k6-x', env: { RESULTS_DIR: '/results/a' } } };

  test('the binary runs the script from loadtest/, its REST API on the loopback port', () => {
    process.env.K6 = '/opt/k6';
    expect(k6Command({ ...run, runner: 'binary' })).toEqual(['/opt/k6', 'run', '--quiet', '--address', '127.0.0.1:6000', '-e', 'RATE=10', path.resolve(__dirname, '../../loadtest/bench/01.ramp.ts')]);
  });

  test("the image runs in the loadtest profile, named, its API published on the loopback port, the script from /scripts", () => {
    process.env.SC_COMPOSE = 'v2';
    const argv = k6Command({ ...run, runner: 'docker' });
    expect(argv.slice(0, 10)).toEqual(['docker', 'compose', '--profile', 'loadtest', 'run', '--rm', '--no-deps', '-T', '--name', 'k6-x']);
    expect(argv.slice(12)).toEqual(['--publish', '127.0.0.1:6000:6565', '-e', 'RESULTS_DIR=/results/a', 'k6', 'run', '--quiet', '--address', '0.0.0.0:6565', '-e', 'RATE=10', '/scripts/bench/01.ramp.ts']);
  });

  test("waits through k6's setup() for its scenarios; past them is 'ended'; giving up is said", async () => {
    const statuses = [6, 6, 7, 9];
    const server = http.createServer((_req, res) => res.end(JSON.stringify({ data: { attributes: { status: statuses.shift() ?? 9 } } })));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const api = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
    try {
      expect(await waitForK6Scenarios(api, () => false, 1)).toBe('running');
      expect(await waitForK6Scenarios(api, () => false, 1)).toBe('ended');
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    expect(await waitForK6Scenarios(api, () => true, 1)).toBe('gave up');
  });
});

describe('freePort', () => {
  test('is a loopback port something can listen on at once', async () => {
    const port = await freePort();
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, '127.0.0.1', resolve));
    expect((server.address() as net.AddressInfo).port).toBe(port);
    await new Promise((resolve) => server.close(resolve));
  });
});

describe('waitFor', () => {
  test('returns the first truthy value; a check that throws counts as not yet', async () => {
    let calls = 0;
    const value = await waitFor('three calls', () => {
      calls += 1;
      if (calls === 1) throw new Error('not up');
      return calls === 3 ? 'ready' : undefined;
    }, 1000, 1);
    expect([value, calls]).toEqual(['ready', 3]);
  });

  test('gives up after the timeout, naming the wait and the last error', async () => {
    await expect(waitFor('the primary', () => { throw new Error('refused\nmore'); }, 20, 5)).rejects.toThrow('the primary: not within 20 ms (last error: refused)');
  });
});

describe('bench settings', () => {
  test('the full and the short run', () => {
    const full = benchSettings({}, false);
    expect(full).toMatchObject({ p95BoundMs: 50, edgeTolerance: 2, maxFailed: 0.001, rounds: 2, equalRate: null, k6Env: { VUS: 100, SESSIONS: 30, WRITE_EVERY: 10, GAP_S: 3 } });
    expect(full.plan).toMatchObject({ fine: { from: 0.9, to: 1.6 }, steadyS: 60, readsS: 30, baselineRamp: true, scaling: true });
    expect(benchSettings({}, true)).toMatchObject({ rounds: 1, k6Env: { GAP_S: 2 }, plan: { fine: null, steadyS: 8, dropAbort: 50, baselineRamp: false, scaling: false } });
  });

  test('BENCH_* override them; an empty one is unset; BENCH_ROUNDS is at least 1', () => {
    const env = { BENCH_STEADY_S: '20', BENCH_EQUAL_RATE: '150', BENCH_ROUNDS: '0', BENCH_VUS: '' };
    expect(benchSettings(env, true)).toMatchObject({ rounds: 1, equalRate: 150, k6Env: { VUS: 100 }, plan: { steadyS: 20 } });
  });

  test('anything but a number ≥ 0 is refused, by name', () => {
    expect(() => envNumber({ BENCH_P95_MS: 'fast' }, 'BENCH_P95_MS', 50)).toThrow('BENCH_P95_MS must be a number, not "fast"');
    expect(() => benchSettings({ BENCH_VUS: '-1' }, false)).toThrow('BENCH_VUS');
  });
});
