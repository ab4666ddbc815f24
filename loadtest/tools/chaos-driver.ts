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
import { appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { containerOf, docker, projectRedisCli } from '../../toolkit/docker.ts';
import { waitForK6Scenarios } from '../../toolkit/k6.ts';
import { sentinelPrimary } from '../../toolkit/sentinel.ts';
import { sleep } from '../../toolkit/time.ts';
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

/** The container of a compose service in this project, running or not. */
function containerOfService(service: string): string {
  const id = containerOf(project, service);
  if (!id) throw new Error(`no container for service ${service} in compose project ${project}`);
  return id;
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
    lastRedisPrimary = sentinelPrimary(projectRedisCli(project));
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
  const state = await waitForK6Scenarios(api, () => Date.now() >= deadline);
  if (state === 'ended') throw new Error('k6 ended before the driver saw it running');
  if (state === 'gave up') throw new Error(`k6 did not start its scenarios within ${args['wait-s']} s`);
}

function heal(): void {
  if (down.size === 0) return;
  const services = [...down];
  say(`clean-up: starting ${services.join(', ')}`);
  try {
    docker('start', ...services.map(containerOfService));
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
      const containers = services.map(containerOfService);
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
