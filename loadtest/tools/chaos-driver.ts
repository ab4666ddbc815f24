// The chaos driver: breaks the compose stack on a schedule (lib/chaos-schedules.ts) while a k6 script
// runs, and writes down when each fault happened (JSON lines) so the report can mark the moments.
//
//   npx tsx loadtest/tools/chaos-driver.ts --project sck6 --schedule compare \
//       --k6-api http://127.0.0.1:6565 --log .artifacts/loadtest/<run>/faults.jsonl
//
// With --k6-api it waits until k6 has finished setup() and started its scenarios (REST API run status
// "running"), so offsets count from the first iteration; without it they count from its own start.
// Containers are driven with the docker CLI by id (found through compose's labels), so two services are
// hit by one call — the same moment — and compose v1 or v2 does not matter. `docker kill` and
// `docker stop` leave a container stopped for good (restart: unless-stopped does not apply to them), so
// whatever the driver took down it starts again: by the schedule, or on exit, or on Ctrl-C.
import { execFileSync } from 'node:child_process';
import { appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { chaosSchedule, REDIS_PRIMARY, type Fault } from '../lib/chaos-schedules.ts';

const { values: args } = parseArgs({
  options: {
    project: { type: 'string' },
    schedule: { type: 'string' },
    'k6-api': { type: 'string' },
    log: { type: 'string' },
    'wait-s': { type: 'string', default: '120' },
  },
});
if (!args.project || !args.schedule || !args.log) {
  console.error('usage: chaos-driver.ts --project NAME --schedule NAME --log FILE [--k6-api URL] [--wait-s 120]');
  process.exit(2);
}
const project = args.project;
const schedule = chaosSchedule(args.schedule);
const logFile = args.log;
mkdirSync(path.dirname(logFile), { recursive: true });

const say = (message: string) => console.error(`[chaos] ${new Date().toISOString()} ${message}`);
const record = (entry: Record<string, unknown>) => appendFileSync(logFile, `${JSON.stringify(entry)}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

function docker(...argv: string[]): string {
  return execFileSync('docker', argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 }).trim();
}

/** The container of a compose service in this project, running or not. */
function containerOf(service: string): string {
  const id = docker('ps', '-aq', '--filter', `label=com.docker.compose.project=${project}`, '--filter', `label=com.docker.compose.service=${service}`);
  if (!id) throw new Error(`no container for service ${service} in compose project ${project}`);
  return id.split('\n')[0]!;
}

/** The service Sentinel names primary now (it announces hostnames, which are the service names). */
function redisPrimary(): string {
  for (const sentinel of ['sentinel-1', 'sentinel-2', 'sentinel-3']) {
    try {
      const reply = docker('exec', containerOf(sentinel), 'redis-cli', '-p', '26379', 'sentinel', 'get-master-addr-by-name', 'mymaster');
      const host = reply.split('\n')[0]?.trim();
      if (host) return host;
    } catch {
      // This Sentinel is down or not answering: ask the next one.
    }
  }
  throw new Error('no Sentinel named a primary');
}

/** What REDIS_PRIMARY meant when the driver last took it down: `start` brings back that one. */
let lastRedisPrimary: string | undefined;
/** Services the driver has taken down and not started again, for the clean-up. */
const down = new Set<string>();

function resolve(fault: Fault): string[] {
  return fault.services.map((service) => {
    if (service !== REDIS_PRIMARY) return service;
    if (fault.action === 'start') {
      if (!lastRedisPrimary) throw new Error('start of the Redis primary before it was taken down');
      return lastRedisPrimary;
    }
    lastRedisPrimary = redisPrimary();
    return lastRedisPrimary;
  });
}

const DOCKER_ARGS: Record<Fault['action'], string[]> = {
  kill: ['kill'],
  // The compose file's stop_grace_period: the apps drain within SHUTDOWN_TIMEOUT_MS (10 s).
  stop: ['stop', '-t', '15'],
  start: ['start'],
  restart: ['restart', '-t', '15'],
};

async function waitForK6(api: string, deadline: number): Promise<void> {
  say(`waiting for k6 to start its scenarios (${api})`);
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`${api}/v1/status`);
      const status = ((await res.json()) as { data: { attributes: { status: number } } }).data.attributes.status;
      // k6's run status: 6 = setup() running, 7 = scenarios running, 8+ = teardown or ended.
      if (status === 7) return;
      if (status > 7) throw new Error('k6 ended before the driver saw it running');
    } catch (err) {
      if (err instanceof Error && err.message.startsWith('k6 ended')) throw err;
      // Not listening yet: k6 is still starting.
    }
    await sleep(100);
  }
  throw new Error(`k6 did not start its scenarios within ${args['wait-s']} s`);
}

function heal(): void {
  if (down.size === 0) return;
  const services = [...down];
  say(`clean-up: starting ${services.join(', ')}`);
  try {
    docker('start', ...services.map(containerOf));
    record({ event: 'cleanup', t: Date.now(), at: new Date().toISOString(), action: 'start', services });
    down.clear();
  } catch (err) {
    say(`clean-up failed: ${(err as Error).message}`);
  }
}

async function main(): Promise<void> {
  const deadline = Date.now() + Number(args['wait-s']) * 1000;
  if (args['k6-api']) await waitForK6(args['k6-api'], deadline);
  const t0 = Date.now();
  record({ event: 'start', t: t0, at: new Date(t0).toISOString(), project, schedule: args.schedule, description: schedule.description });
  say(`schedule ${args.schedule}: ${schedule.description}`);

  for (const fault of schedule.faults) {
    await sleep(t0 + fault.at * 1000 - Date.now());
    const entry: Record<string, unknown> = { event: 'fault', action: fault.action, planned: fault.at };
    const started = Date.now();
    try {
      const services = resolve(fault);
      const containers = services.map(containerOf);
      entry.services = services;
      docker(...DOCKER_ARGS[fault.action], ...containers);
      for (const service of services) {
        if (fault.action === 'kill' || fault.action === 'stop') down.add(service);
        else down.delete(service);
      }
      entry.ok = true;
    } catch (err) {
      entry.ok = false;
      entry.error = (err as Error).message.split('\n')[0];
    }
    const done = Date.now();
    // t: when the docker call returned — the container is gone (kill, stop) or started (start, restart).
    Object.assign(entry, { t: done, at: new Date(done).toISOString(), offsetS: (done - t0) / 1000, tookMs: done - started });
    record(entry);
    say(`${fault.action} ${(entry.services as string[] | undefined)?.join(' + ') ?? fault.services.join(' + ')}: ${entry.ok ? 'done' : `FAILED (${entry.error})`} in ${entry.tookMs} ms`);
  }
  record({ event: 'end', t: Date.now(), at: new Date().toISOString() });
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    heal();
    process.exit(130);
  });
}

main()
  .then(() => heal())
  .catch((err: Error) => {
    say(`error: ${err.message}`);
    heal();
    process.exit(1);
  });
