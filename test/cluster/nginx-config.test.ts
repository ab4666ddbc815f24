import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { clusterCompose } from './cluster';

const ROOT = path.resolve(__dirname, '../..');
const COMMON = path.join(ROOT, 'nginx/common');

/** Each nginx service, and the file of nginx/ that docker-compose.yml mounts as its conf.d/default.conf. */
const VARIANTS = [
  { service: 'nginx', file: 'round-robin.conf' },
  { service: 'nginx-sticky', file: 'sticky.conf' },
];

/**
 * Scenario 8: each nginx container's configuration, as nginx itself reads it from the mounts. `nginx -T`
 * tests it as `nginx -t` does, and dumps every file it read, each under a "# configuration file PATH:" line.
 */
describe('scenario 8: both nginx configurations, as their containers read them', () => {
  const compose = clusterCompose();

  /** `nginx -T` inside the service's running container. */
  function nginxDump(service: string) {
    const result = spawnSync('docker', ['exec', compose.containerId(service), 'nginx', '-T'], { encoding: 'utf8', timeout: 30_000, maxBuffer: 16 * 1024 * 1024 });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
  }

  /** How `nginx -T` shows one file it read: its path, then its text as it is. */
  const dumped = (containerPath: string, hostPath: string) => `# configuration file ${containerPath}:\n${readFileSync(hostPath, 'utf8')}`;

  test.each(VARIANTS)('when nginx -T runs inside $service, then its configuration tests successfully, read from $file and every include of nginx/common', ({ service, file }) => {
    const { status, stdout, stderr } = nginxDump(service);

    expect({ status, stderr }).toEqual({ status: 0, stderr: expect.stringContaining('test is successful') });
    expect(stdout).toContain(dumped('/etc/nginx/conf.d/default.conf', path.join(ROOT, 'nginx', file)));
    for (const include of readdirSync(COMMON).filter((f) => f.endsWith('.conf'))) {
      expect(stdout).toContain(dumped(`/etc/nginx/common/${include}`, path.join(COMMON, include)));
    }
  });
});
