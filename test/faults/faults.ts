import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Compose } from '../../toolkit/compose';
import type { Cut } from '../../toolkit/netfault';
import { MASTER_NAME, primaryNamedBy, replicationInfo, sentinelCommand, sentinelFields } from '../../toolkit/sentinel';
import { APP_SERVICES, REDIS_NODE_PORTS, SENTINEL_SERVICES } from '../../toolkit/services';
import { stackCompose, type StackInfo } from '../../toolkit/stack';
import { waitForSteadyStack } from '../../toolkit/steady';
import { waitFor } from '../../toolkit/time';
import { TestClient, type Target } from '../helpers/client';
import { reportFigures, stackFromEnv } from '../helpers/stack';
import { windowStats, type ProbeOptions, type ProbeReport, type ProbeSample } from '../cluster/probe';
import { LoadThread } from './load';

const ROOT = path.resolve(__dirname, '../..');

/** The fault suite's stack, as test/faults/global-setup.ts started it. */
export function faultsInfo(): StackInfo {
  return stackFromEnv('SC_FAULTS', 'fault suite', 'npm run test:faults');
}

export function faultsCompose(): Compose {
  return stackCompose(faultsInfo());
}

export function faultsTarget(): Target {
  return { url: faultsInfo().httpUrl };
}

/**
 * One scenario's figures, printed and appended to .artifacts/fault-figures.jsonl; with `samples`, every
 * request of its load too, in .artifacts/faults/<scenario>.samples.jsonl, for a closer look.
 */
export function reportFault(scenario: string, figures: Record<string, unknown>, samples?: ProbeSample[]): void {
  reportFigures(scenario, figures, 'fault-figures.jsonl');
  if (!samples) return;
  const dir = path.join(ROOT, '.artifacts', 'faults');
  mkdirSync(dir, { recursive: true });
  const name = scenario.replace(/[^a-z0-9.]+/gi, '-').replace(/^-|-$/g, '').toLowerCase();
  writeFileSync(path.join(dir, `${name}.samples.jsonl`), samples.map((s) => JSON.stringify(s)).join('\n') + '\n');
}

/**
 * The steady load every scenario runs under: USERS logged-in users, each reading its session and
 * bumping its counter in a loop with PAUSE_MS between steps (about 150 requests/s in all on a 2-core
 * machine). FAULTS_USERS and FAULTS_PAUSE_MS change it.
 */
export const LOAD = { users: Number(process.env.FAULTS_USERS ?? 12), pauseMs: Number(process.env.FAULTS_PAUSE_MS ?? 100) };

/** Logs the load's users in and starts them, in a thread of their own (load.ts). */
export async function startLoad(users = LOAD.users, options: ProbeOptions = { pauseMs: LOAD.pauseMs }): Promise<LoadThread> {
  return LoadThread.start(faultsTarget(), users, options);
}

/** Waits on `wait`: 'ok', or what it was still waiting for when it gave up (for a figure, then an assertion). */
export async function outcome(wait: Promise<unknown>): Promise<string> {
  return wait.then(
    () => 'ok',
    (err: Error) => err.message.split('\n')[0] ?? 'failed',
  );
}

/** The first request sent at or after `from` that matches. */
export function firstSample(fleet: LoadThread, from: number, matches: (s: ProbeSample) => boolean): ProbeSample | undefined {
  return fleet.samples().find((s) => s.at >= from && matches(s));
}

/** Seconds from `from` to `to` (epoch ms), rounded to 0.1 s. */
export const secondsBetween = (from: number, to: number) => Math.round((to - from) / 100) / 10;

export interface RedisRoles {
  primary: string;
  /** The replica Sentinel promotes first. */
  replica: string;
  /** Every replica, `replica` first. */
  replicas: string[];
}

/** Resolves once `replica` runs as a replica of `primary` with its link up. */
export async function waitReplicaSynced(compose: Compose, replica: string, primary: string, timeoutMs = 60_000): Promise<void> {
  await waitFor(
    `${replica} to replicate ${primary}`,
    () => {
      const info = replicationInfo(compose, replica);
      return info.role === 'slave' && info.master_host === primary && info.master_link_status === 'up';
    },
    timeoutMs,
    500,
  );
}

/** What one Sentinel thinks of the primary: its flags (master, s_down, o_down…), and so on. */
export function sentinelMaster(compose: Compose, sentinel: string): Record<string, string> {
  return sentinelFields(compose, sentinel, 'master', MASTER_NAME)[0] ?? {};
}

/** The primary each Sentinel names (undefined for one that does not answer). */
export function sentinelViews(compose: Compose, sentinels = SENTINEL_SERVICES): (string | undefined)[] {
  return sentinels.map((s) => primaryNamedBy(compose, s));
}

/** Resolves once every app serves writes through nginx (a fresh login, then POSTs until all three answered 200). */
export async function waitAppsServe(timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const left = () => Math.max(1000, deadline - Date.now());
  const target = faultsTarget();
  const client = new TestClient();
  await waitFor('a login through nginx', () => client.login(target).then(() => true), left(), 500);
  const serving = new Set<string>();
  await waitFor(
    `every app to serve writes through nginx (so far: ${[...serving].join(', ') || 'none'})`,
    async () => {
      const res = await client.post(target, '/api/visits');
      if (res.status === 200) serving.add(String(res.headers['x-served-by']));
      return APP_SERVICES.every((a) => serving.has(a));
    },
    left(),
    100,
  );
}

/** Waits for the fault stack to be steady (toolkit/steady.ts, the precondition of every scenario); returns who is primary. */
export async function waitSteady(timeoutMs = 120_000): Promise<RedisRoles> {
  const { primary, replica, replicas } = await waitForSteadyStack(faultsInfo(), timeoutMs);
  return { primary, replica, replicas };
}

/**
 * A scenario's clean-up: waits for the stack to be steady again. A scenario asserts itself that the stack
 * mended on its own; if it did not (an app whose Redis client gave up, say), the apps that are not healthy
 * are restarted here so that the next scenario starts from a whole stack, not from this one's failure.
 */
export async function restoreStack(compose: Compose): Promise<RedisRoles> {
  await LoadThread.stopAll();
  try {
    return await waitSteady(45_000);
  } catch (err) {
    const stuck = APP_SERVICES.filter((app) => compose.health(app) !== 'healthy');
    console.warn(`restoring the stack: ${(err as Error).message}; restarting ${stuck.join(', ') || 'no app'}`);
    if (stuck.length) compose.run(['restart', ...stuck]);
    return waitSteady(120_000);
  }
}

/**
 * The network cut a partition scenario makes (toolkit/netfault.ts), healed after each test whatever
 * happened, then the stack restored: `keep` holds a cut in force, `heal` ends it early (as the test does).
 */
export function cutsHealedAfterEach(compose: Compose): { keep(cut: Cut): Cut; heal(): void } {
  let current: Cut | undefined;
  const heal = () => {
    current?.heal();
    current = undefined;
  };
  afterEach(async () => {
    heal();
    await restoreStack(compose);
  }, 240_000);
  return { keep: (cut) => (current = cut), heal };
}

/**
 * A planned switchover: SENTINEL FAILOVER (retried while Sentinel has no usable replica yet, as just after
 * the replica was recreated), then the wait until all three Sentinels name `replica` and the old primary
 * replicates it. Returns the seconds each took from the command.
 *
 * `pauseWrites`: first `CLIENT PAUSE <ms> WRITE` on the primary, as the CLIENT PAUSE reference describes for
 * switching clients to another instance (and as Redis's own FAILOVER command does): the apps' writes wait
 * instead of landing on a primary about to be demoted; once the Sentinels name the new primary, the old one
 * is made its replica at once, and `CLIENT UNPAUSE` lets the waiting writes through, to be refused
 * (READONLY) and sent again to the new primary by the apps' client, or to fail.
 */
export async function plannedFailover(
  compose: Compose,
  { primary, replica }: RedisRoles,
  { pauseWrites = false }: { pauseWrites?: boolean } = {},
): Promise<{ switchedAfterS: number; oldPrimaryReplicaAfterS: number; writesPausedS?: number }> {
  const started = Date.now();
  // Longer than any switchover measured here (under 10 s); lifted by hand below as soon as it is done.
  if (pauseWrites) compose.redisCli(primary, 'client', 'pause', '30000', 'write');
  try {
    await waitFor(
      'SENTINEL FAILOVER to be accepted',
      () => sentinelCommand(compose, 'sentinel-1', 'failover', MASTER_NAME) === 'OK',
      30_000,
      1000,
    );
    await waitFor(`the Sentinels to name ${replica}`, () => sentinelViews(compose).every((v) => v === replica), 30_000, 200);
    const switchedAt = Date.now();
    // Sentinel would demote the old primary itself only after its next look at it (10 to 15 s), and a
    // paused primary holds back Sentinel's own PUBLISH (hello messages) and what queues behind it: demote it
    // here, to the primary the Sentinels now name, as Sentinel will (REPLICAOF is not a write: not paused).
    if (pauseWrites) compose.redisCli(primary, 'replicaof', replica, String(REDIS_NODE_PORTS[replica]));
    await waitReplicaSynced(compose, primary, replica, 60_000);
    const demotedAt = Date.now();
    return {
      switchedAfterS: secondsBetween(started, switchedAt),
      oldPrimaryReplicaAfterS: secondsBetween(started, demotedAt),
      ...(pauseWrites ? { writesPausedS: secondsBetween(started, demotedAt) } : {}),
    };
  } finally {
    if (pauseWrites) compose.redisCli(primary, 'client', 'unpause');
  }
}

/** When each app container started and how often Docker restarted it: unchanged means no restart. */
export function appStates(compose: Compose): Record<string, string> {
  return Object.fromEntries(APP_SERVICES.map((app) => [app, compose.inspect(app, '{{.State.StartedAt}} restarts={{.RestartCount}}')]));
}

/**
 * READONLY errors in the apps' logs since `since`: `responses` are requests answered with an error
 * because of one ("request failed" lines), `total` every line that names one.
 */
export function readonlyErrors(compose: Compose, since: Date): { responses: number; total: number } {
  const lines = APP_SERVICES.flatMap((app) => compose.logsSince(app, since).split('\n')).filter((l) => l.includes('READONLY'));
  return { responses: lines.filter((l) => l.includes('request failed')).length, total: lines.length };
}

/** Failed requests by kind: `<status> <error code>` (status 0: no answer at all) → how many. */
export function failureKinds(samples: ProbeSample[]): Record<string, number> {
  const kinds: Record<string, number> = {};
  for (const s of samples) {
    if (s.status >= 200 && s.status < 300) continue;
    const kind = `${s.status} ${s.error ?? ''}`.trim();
    kinds[kind] = (kinds[kind] ?? 0) + 1;
  }
  return kinds;
}

/** Sessions gone or gone back in time (see ProbeReport.lost): the goal is 0. */
export const sessionsLost = (report: ProbeReport) => report.lost.gone + report.lost.stale;

/** The figures of a stretch of load: requests, failures, statuses, lost sessions, latency. */
export function loadFigures(report: ProbeReport, samples: ProbeSample[], from?: number, to?: number) {
  const window = windowStats(samples, from, to);
  return {
    requests: report.requests,
    failedGET: report.failed.GET,
    failedPOST: report.failed.POST,
    // A session lost: gone (401), or its counter went back (acknowledged writes lost). A late write (a POST
    // that failed, applied after all) is not a loss: it is counted apart.
    sessionsLost: report.lost.gone + report.lost.stale,
    lost: report.lost,
    statuses: report.statuses,
    p50Ms: window.p50Ms,
    p99Ms: window.p99Ms,
    maxMs: window.maxMs,
  };
}

/** When POSTs answered with a counter that went back (acknowledged writes lost), in seconds after `t0`. */
export function staleAnswers(samples: ProbeSample[], t0: number): { count: number; firstS?: number; lastS?: number } {
  const stale = samples.filter((s) => s.stale);
  if (stale.length === 0) return { count: 0 };
  return { count: stale.length, firstS: secondsBetween(t0, stale[0]!.at), lastS: secondsBetween(t0, stale.at(-1)!.at) };
}

/** Raw SET throughput of a Redis node (redis-benchmark inside its container, 8 clients), keys removed after. */
export function redisSetsPerSecond(compose: Compose, node: string): number {
  const id = compose.containerId(node);
  const port = REDIS_NODE_PORTS[node] ?? 6379;
  const bench = spawnSync(
    'docker',
    ['exec', id, 'sh', '-c', `redis-benchmark -p ${port} -a "$REDIS_PASSWORD" -q -n 5000 -c 8 -r 1000 SET faults:bench:__rand_int__ x 2>/dev/null`],
    { encoding: 'utf8', timeout: 60_000 },
  );
  spawnSync('docker', ['exec', id, 'sh', '-c', `redis-cli -p ${port} --scan --pattern "faults:bench:*" | xargs -r redis-cli -p ${port} del >/dev/null`], { timeout: 30_000 });
  const matches = [...bench.stdout.matchAll(/([\d.]+) requests per second/g)];
  const last = matches.at(-1);
  if (!last) throw new Error(`redis-benchmark in ${node} printed no result: ${bench.stdout}${bench.stderr}`);
  return Math.round(Number(last[1]));
}
