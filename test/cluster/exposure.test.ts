import { spawnSync } from 'node:child_process';
import request from 'supertest';
import { MASTER_NAME } from '../../toolkit/sentinel';
import { APP_SERVICES, REDIS_NODE_PORTS, REDIS_NODES, REDIS_SERVICES } from '../../toolkit/services';
import { TestClient } from '../helpers/client';
import { reportFigures } from '../helpers/stack';
import { clusterCompose, clusterInfo } from './cluster';

/** Scenario 6: only nginx is reachable from the host; Redis and Sentinel are not published, and need a password. */
describe('scenario 6: what the host can reach', () => {
  const compose = clusterCompose();

  function publishedPorts(service: string): string {
    const id = compose.containerId(service);
    return spawnSync('docker', ['inspect', '-f', '{{json .NetworkSettings.Ports}}', id], { encoding: 'utf8' }).stdout.trim();
  }

  test('when the containers are inspected, then no Redis or Sentinel port is bound on the host', () => {
    for (const service of REDIS_SERVICES) {
      const ports = JSON.parse(publishedPorts(service)) as Record<string, { HostIp: string; HostPort: string }[] | null>;
      const bound = Object.values(ports).flatMap((bindings) => bindings ?? []);
      expect({ service, bound }).toEqual({ service, bound: [] });
    }
  });

  test('when nginx is inspected, then it is bound to the loopback address only, and it answers there', async () => {
    const ports = JSON.parse(publishedPorts('nginx')) as Record<string, { HostIp: string; HostPort: string }[] | null>;
    const bindings = Object.values(ports).flatMap((b) => b ?? []);

    const res = await request(clusterInfo().httpUrl).get('/api/cluster');

    expect(bindings.length).toBeGreaterThan(0);
    expect(bindings.every((b) => b.HostIp === '127.0.0.1')).toBe(true);
    expect(res.status).toBe(200);
    expect(res.body.redis.role).toBe('primary');
  });

  test('when a client inside the network has no password, then Redis refuses it', () => {
    const out = compose.run(['exec', '-T', '-e', 'REDISCLI_AUTH=', 'redis-primary', 'redis-cli', 'get', 'anything']);

    expect(out).toMatch(/NOAUTH/);
  });

  /** The service Sentinel names as primary now (the failover test may have swapped the roles). */
  const primary = () => compose.sentinelPrimary();

  /** redis-cli inside a container, logged in as the apps' user (its name and password are in that container's environment). */
  function asAppUser(service: string, ...args: string[]): string {
    const id = compose.containerId(service);
    const script = 'exec redis-cli --no-auth-warning --user "$REDIS_APP_USERNAME" --pass "$REDIS_APP_PASSWORD" "$@"';
    const port = REDIS_NODE_PORTS[service] ? ['-p', String(REDIS_NODE_PORTS[service])] : []; // a Sentinel's is in args
    const result = spawnSync('docker', ['exec', id, 'sh', '-c', script, 'redis-cli', ...port, ...args], { encoding: 'utf8', timeout: 15_000 });
    return `${result.stdout}${result.stderr}`.trim();
  }

  /** Each app container's address on the back network. */
  function appAddresses(): Record<string, string> {
    return Object.fromEntries(
      APP_SERVICES.map((service) => {
        const out = spawnSync('docker', ['inspect', '-f', '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}', compose.containerId(service)], { encoding: 'utf8' });
        return [service, out.stdout.trim()];
      }),
    );
  }

  /** The user of every connection an app holds to this Redis or Sentinel, by app. */
  function usersOfAppConnections(service: string, port: string): Record<string, string[]> {
    const clients = compose.redisCli(service, '-p', port, 'client', 'list').split('\n');
    return Object.fromEntries(
      Object.entries(appAddresses()).map(([app, ips]) => {
        const mine = clients.filter((line) => ips.split(' ').some((ip) => ip && line.includes(` addr=${ip}:`)));
        return [app, [...new Set(mine.map((line) => /\buser=(\S+)/.exec(line)?.[1] ?? '?'))]];
      }),
    );
  }

  test('when the apps talk to Redis and Sentinel, then they are logged in as session-app, never as the default user', async () => {
    // A login makes sure each app has used its connections.
    for (let i = 0; i < 3; i++) await new TestClient().login({ url: clusterInfo().httpUrl });

    const node = primary();
    const onPrimary = usersOfAppConnections(node, String(REDIS_NODE_PORTS[node]));
    const onSentinel = usersOfAppConnections('sentinel-1', '26379');

    expect(onPrimary).toEqual({ 'app-1': ['session-app'], 'app-2': ['session-app'], 'app-3': ['session-app'] });
    for (const users of Object.values(onSentinel)) expect(users.filter((u) => u !== 'session-app')).toEqual([]);
    expect(Object.values(onSentinel).flat()).toContain('session-app');
  });

  test('when the apps\' user tries anything beyond what they need, then Redis and Sentinel refuse it, while the apps keep working', async () => {
    const node = primary();
    const attempts: Record<string, string[]> = {
      FLUSHALL: ['flushall'],
      'CONFIG GET': ['config', 'get', 'requirepass'],
      'KEYS *': ['keys', '*'],
      'SCAN': ['scan', '0'],
      'ACL LIST': ['acl', 'list'],
      'SET outside its keys': ['set', 'not-a-session-key', 'x'],
      'GET outside its keys': ['get', 'not-a-session-key'],
      'a script on another key': ['eval', "return redis.call('GET', KEYS[1])", '1', 'not-a-session-key'],
    };
    const refused = Object.fromEntries(Object.entries(attempts).map(([what, args]) => [what, asAppUser(node, ...args)]));
    // DEBUG is also disabled outright (enable-debug-command no), which answers before the ACL is asked.
    const debug = asAppUser(node, 'debug', 'sleep', '0');
    const debugAcl = compose.redisCli(node, 'acl', 'dryrun', 'session-app', 'debug', 'sleep', '0');
    const sentinel = {
      'SENTINEL FAILOVER': asAppUser('sentinel-1', '-p', '26379', 'sentinel', 'failover', MASTER_NAME),
      'SENTINEL SET': asAppUser('sentinel-1', '-p', '26379', 'sentinel', 'set', MASTER_NAME, 'quorum', '1'),
      'SENTINEL CONFIG GET': asAppUser('sentinel-1', '-p', '26379', 'sentinel', 'config', 'get', '*'),
      'SENTINEL MASTER': asAppUser('sentinel-1', '-p', '26379', 'sentinel', 'master', MASTER_NAME),
    };
    const allowed = {
      'GET its own key': asAppUser(node, 'get', 'sess:no-such-session'),
      'SENTINEL GET-MASTER-ADDR-BY-NAME': asAppUser('sentinel-1', '-p', '26379', 'sentinel', 'get-master-addr-by-name', MASTER_NAME).split('\n')[0],
    };
    const client = new TestClient();
    await client.login({ url: clusterInfo().httpUrl });
    const visit = await client.post({ url: clusterInfo().httpUrl }, '/api/visits');
    // Replication authenticates with the default user's password (the steady precondition waited for the replica to be online).
    const replication = compose.redisCli(node, 'info', 'replication');

    reportFigures('redis acl: the apps\' user', { refused: Object.keys(refused).concat(Object.keys(sentinel), 'DEBUG'), acl: compose.redisCli(node, 'acl', 'getuser', 'session-app').split('\n').join(' ').slice(0, 600) });
    for (const [what, answer] of Object.entries({ ...refused, ...sentinel })) expect([what, answer]).toEqual([what, expect.stringMatching(/^NOPERM/)]);
    expect(debug).toMatch(/^ERR DEBUG command not allowed/);
    expect(debugAcl).toMatch(/no permissions to run the 'debug' command/);
    expect(allowed).toEqual({ 'GET its own key': '', 'SENTINEL GET-MASTER-ADDR-BY-NAME': node });
    expect(visit.status).toBe(200);
    // Replication still authenticates with the default user's password.
    expect(replication).toMatch(new RegExp(`^connected_slaves:${REDIS_NODES.length - 1}\\s*$`, 'm')); // every replica
    expect(replication).toMatch(/state=online/);
  });
});
