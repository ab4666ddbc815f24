import { spawnSync } from 'node:child_process';
import request from 'supertest';
import { REDIS_SERVICES, clusterCompose, clusterInfo } from './compose';

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
});
