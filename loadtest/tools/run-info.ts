// Prints what a run ran on, as JSON (run.sh saves it as run.json; the compare report quotes it): the
// machine, the k6, Node, Docker and compose versions, the commit, and the images and server versions of
// the compose project under test — including whether an image is a local stand-in (.ci/standins.sh).
//   npx tsx loadtest/tools/run-info.ts --project sck6 --script 04.compare.ts --k6 /path/to/k6
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { composeCommand } from '../../toolkit/compose.ts';
import { containerOf } from '../../toolkit/docker.ts';
import { productImage } from '../../toolkit/images.ts';

const { values: args } = parseArgs({
  options: {
    project: { type: 'string', default: '' },
    script: { type: 'string', default: '' },
    schedule: { type: 'string', default: '' },
    runner: { type: 'string', default: 'binary' },
    k6: { type: 'string', default: 'k6' },
  },
});

/** A command's output (stdout, else stderr: `nginx -v` writes there), or null when it cannot run. */
function output(cmd: string, argv: string[]): string | null {
  const res = spawnSync(cmd, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 20_000 });
  if (res.error || res.status !== 0) return null;
  return (res.stdout.trim() || res.stderr.trim()).split('\n')[0] ?? null;
}

/** The image of a service's container, its server version (the part `pattern` picks), whether a stand-in. */
function service(name: string, versionCommand: string[], pattern: RegExp) {
  const id = args.project ? containerOf(args.project, name, { running: true }) : null;
  if (!id) return null;
  const image = output('docker', ['inspect', '-f', '{{.Config.Image}}', id]);
  const standIn = output('docker', ['inspect', '-f', '{{index .Config.Labels "org.session-cluster.standin"}}', id]) === 'true';
  const version = output('docker', ['exec', id, ...versionCommand]);
  return { image, standIn, version: version?.match(pattern)?.[1] ?? version };
}

// The loadtest profile's image, as docker-compose.yml names it.
const k6Image = productImage('grafana/k6');
const k6 = args.runner === 'docker' ? output('docker', ['run', '--rm', k6Image, 'version']) : output(args.k6, ['version']);
const [compose, ...composePre] = composeCommand();
const commit = output('git', ['rev-parse', '--short', 'HEAD']);
const dirty = output('git', ['status', '--porcelain']) ? ' (with uncommitted changes)' : '';

const info = {
  script: args.script,
  chaosSchedule: args.schedule || null,
  composeProject: args.project,
  startedAt: new Date().toISOString(),
  machine: {
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    // Other work on the machine when the run started: on shared cores it moves the latencies.
    loadAverage1m: Number(os.loadavg()[0]!.toFixed(2)),
  },
  versions: {
    k6: args.runner === 'docker' ? `${k6} (${k6Image})` : k6,
    node: process.version,
    docker: output('docker', ['version', '--format', '{{.Server.Version}}']),
    compose: output(compose!, [...composePre, 'version', '--short']),
    commit: commit ? `${commit}${dirty}` : null,
  },
  services: {
    app: service('app-1', ['node', '--version'], /^v(\S+)/),
    nginx: service('nginx', ['nginx', '-v'], /nginx\/(\S+)/),
    redis: service('redis-primary', ['redis-server', '--version'], /v=(\S+)/),
  },
};
process.stdout.write(`${JSON.stringify(info, null, 2)}\n`);
