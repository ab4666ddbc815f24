import { type Compose } from '../../toolkit/compose';
import { sleep, waitFor } from '../../toolkit/time';
import { windowStats } from '../cluster/probe';
import { failureKinds, faultsCompose, firstSample, loadFigures, plannedFailover, outcome, redisSetsPerSecond, reportFault, restoreStack, secondsBetween, staleAnswers, startLoad, waitReplicaSynced, waitSteady } from './faults';

type Fsync = 'everysec' | 'always';
/** The write-throughput comparison: rounds of everysec then always, each this long, in one stretch of load. */
const ROUNDS = 2;
const ROUND_MS = 5000;

/** The appendfsync both Redis nodes run with now. */
function appendfsyncOf(compose: Compose, node: string): string {
  return compose.redisCli(node, 'config', 'get', 'appendfsync').split('\n')[1] ?? '';
}

/**
 * Recreates both Redis nodes with REDIS_APPENDFSYNC=<policy>, the way an operator would without an outage:
 * the replica first, then a planned switchover, then the old primary (now a replica).
 */
async function recreateRedisWith(compose: Compose, policy: Fsync): Promise<void> {
  const withPolicy = compose.with({ env: { REDIS_APPENDFSYNC: policy } });
  const roles = await waitSteady();
  withPolicy.run(['up', '-d', '--no-deps', roles.replica]);
  await compose.waitHealthy([roles.replica], 60_000);
  await waitReplicaSynced(compose, roles.replica, roles.primary);
  await plannedFailover(compose, roles);
  withPolicy.run(['up', '-d', '--no-deps', roles.primary]);
  await compose.waitHealthy([roles.primary], 60_000);
  await waitReplicaSynced(compose, roles.primary, roles.replica);
}

/** The mean of some numbers, rounded. */
const mean = (values: number[]) => Math.round(values.reduce((sum, v) => sum + v, 0) / Math.max(1, values.length));

/** Fault 5: the Redis primary dies (docker kill) under load; Sentinel promotes the replica. */
describe('fault 5: killing the Redis primary, with appendfsync everysec and always', () => {
  const compose = faultsCompose();
  let killed: string | undefined;

  afterEach(async () => {
    if (killed) compose.start(killed);
    killed = undefined;
    await restoreStack(compose);
  }, 300_000);

  afterEach(async () => {
    if (appendfsyncOf(compose, compose.sentinelPrimary()) !== 'everysec') await recreateRedisWith(compose, 'everysec');
  }, 300_000);

  test.each<Fsync>(['everysec', 'always'])(
    'when the primary is killed under load with appendfsync %s, then writes succeed again within 30 s, only as 503s meanwhile, and no session is gone',
    async (policy) => {
      let { primary, replica } = await waitSteady();
      if (appendfsyncOf(compose, primary) !== policy) {
        await recreateRedisWith(compose, policy);
        ({ primary, replica } = await waitSteady());
      }
      const fsync = { [primary]: appendfsyncOf(compose, primary), [replica]: appendfsyncOf(compose, replica) };
      const redisSetsPerS = redisSetsPerSecond(compose, primary);

      const fleet = await startLoad();
      await sleep(3000);
      compose.kill(primary);
      killed = primary;
      const killedAt = Date.now();
      const back = await waitFor('a write to succeed again', () => firstSample(fleet, killedAt, (s) => s.method === 'POST' && s.status === 200), 60_000);
      const promoted = compose.sentinelPrimary();
      await sleep(3000);
      const report = await fleet.stop();
      const samples = fleet.samples();

      compose.start(primary);
      killed = undefined;
      const startedAt = Date.now();
      await waitReplicaSynced(compose, primary, promoted, 90_000);
      const rejoinedAfterS = secondsBetween(startedAt, Date.now());
      const mended = await outcome(waitSteady(60_000));

      const failures = failureKinds(samples);
      reportFault(`5. kill redis primary (appendfsync ${policy})`, {
        appendfsync: fsync,
        redisBenchmarkSetsPerS: redisSetsPerS,
        killed: primary,
        promoted,
        writableAgainAfterS: secondsBetween(killedAt, back.at + back.ms),
        oldPrimaryRejoinedAsReplicaAfterS: rejoinedAfterS,
        mended,
        ...loadFigures(report, samples),
        failureKinds: failures,
        outage: windowStats(samples, killedAt, back.at),
        staleAnswersAfterKill: staleAnswers(samples, killedAt),
      }, samples);
      expect(Object.values(fsync)).toEqual([policy, policy]);
      expect(promoted).toBe(replica);
      expect(back.at + back.ms - killedAt).toBeLessThanOrEqual(30_000);
      // Every failure is the apps' own 503 while there is no primary: no 502 or 504 from nginx, no hang up.
      expect(Object.keys(failures).every((k) => k === '503 redis_unavailable')).toBe(true);
      expect(report.lost.gone).toBe(0);
      expect(mended).toBe('ok');
    },
    300_000,
  );

  test('when POST /api/visits runs as fast as 8 users can, alternating appendfsync everysec and always on the primary, then no write fails and the writes/s of each policy are measured', async () => {
    const { primary } = await waitSteady();
    const before = appendfsyncOf(compose, primary);
    // CONFIG SET switches the policy of the running primary at once: the rounds alternate within one
    // stretch of load, so the machine's other work weighs on both policies alike.
    const fleet = await startLoad(8, { pauseMs: 0, reads: false });
    const rounds: { policy: Fsync; writesPerS: number; p50Ms: number; p99Ms: number }[] = [];
    try {
      await sleep(1000);
      for (let round = 0; round < ROUNDS; round++) {
        for (const policy of ['everysec', 'always'] as const) {
          compose.redisCli(primary, 'config', 'set', 'appendfsync', policy);
          const t0 = Date.now();
          await sleep(ROUND_MS);
          const window = fleet.samples().filter((s) => s.at >= t0 && s.at < t0 + ROUND_MS);
          const stats = windowStats(window);
          rounds.push({ policy, writesPerS: Math.round(window.filter((s) => s.status === 200).length / (ROUND_MS / 1000)), p50Ms: stats.p50Ms, p99Ms: stats.p99Ms });
        }
      }
    } finally {
      compose.redisCli(primary, 'config', 'set', 'appendfsync', before);
    }
    const report = await fleet.stop();

    const of = (policy: Fsync) => rounds.filter((r) => r.policy === policy);
    const [everysec, always] = [mean(of('everysec').map((r) => r.writesPerS)), mean(of('always').map((r) => r.writesPerS))];
    reportFault('5c. write throughput, appendfsync everysec vs always', {
      primary,
      users: 8,
      roundS: ROUND_MS / 1000,
      rounds,
      writesPerSEverysec: everysec,
      writesPerSAlways: always,
      alwaysCostPct: Math.round((1 - always / everysec) * 1000) / 10,
      p99MsEverysec: Math.max(...of('everysec').map((r) => r.p99Ms)),
      p99MsAlways: Math.max(...of('always').map((r) => r.p99Ms)),
      failed: report.failed.POST,
    }, fleet.samples());
    expect(report.failed.POST).toBe(0);
    expect(everysec).toBeGreaterThan(0);
    expect(always).toBeGreaterThan(0);
  }, 120_000);
});
