import { replicationInfo } from '../../toolkit/sentinel';
import { sleep, waitFor } from '../../toolkit/time';
import { windowStats } from '../cluster/probe';
import { failureKinds, faultsCompose, firstSample, loadFigures, outcome, reportFault, restoreStack, secondsBetween, startLoad, waitReplicaSynced, waitSteady, type RedisRoles } from './faults';

const DOWN_MS = 10_000;

interface Case {
  name: string;
  stopped: (roles: RedisRoles) => string[];
  /** Whether the primary still has min-replicas-to-write replicas with these stopped. */
  writesGoOn: boolean;
}

/**
 * Fault 9: replicas go away. The primary takes writes only while at least min-replicas-to-write (1,
 * redis/replicated.conf) replicas acknowledge it: with two replicas, one down changes nothing; both down —
 * which is what one replica down would be with a single replica — and writes are refused (NOREPLICAS, the
 * apps' 503 redis_unavailable) until one is back, while reads go on.
 */
describe('fault 9: Redis replicas down', () => {
  const compose = faultsCompose();
  let stopped: string[] = [];

  afterEach(async () => {
    for (const node of stopped) compose.start(node);
    stopped = [];
    await restoreStack(compose);
  }, 180_000);

  test.each<Case>([
    { name: 'one of the two replicas', stopped: (roles) => [roles.replica], writesGoOn: true },
    { name: 'both replicas (a single-replica topology with its replica down)', stopped: (roles) => roles.replicas, writesGoOn: false },
  ])('when $name stops for 10 s under load, then the primary serves what min-replicas-to-write allows, and the replicas catch up when back', async ({ name, stopped: which, writesGoOn }) => {
    const roles = await waitSteady();
    const { primary } = roles;
    const minReplicasToWrite = Number(compose.redisCli(primary, 'config', 'get', 'min-replicas-to-write').split('\n')[1]);
    const fleet = await startLoad();
    await sleep(3000);

    stopped = which(roles);
    for (const node of stopped) compose.stop(node);
    const stoppedAt = Date.now();
    const alone = replicationInfo(compose, primary);
    await sleep(DOWN_MS);
    const back = [...stopped];
    for (const node of back) compose.start(node);
    stopped = [];
    const startedAt = Date.now();
    for (const node of back) await waitReplicaSynced(compose, node, primary);
    const syncedAfterS = secondsBetween(startedAt, Date.now());
    const writable = writesGoOn ? undefined : await waitFor('a write to succeed again', () => firstSample(fleet, startedAt, (s) => s.method === 'POST' && s.status === 200), 30_000);
    await sleep(2000);
    const report = await fleet.stop();
    const samples = fleet.samples();
    const mended = await outcome(waitSteady(60_000));

    const during = samples.filter((s) => s.at >= stoppedAt && s.at < startedAt);
    const posts = during.filter((s) => s.method === 'POST');
    reportFault(`9. ${name} down 10 s`, {
      stopped: back,
      minReplicasToWrite,
      connectedReplicasWhileDown: Number(alone.connected_slaves),
      replicasSyncedAfterStartS: syncedAfterS,
      writableAgainAfterStartS: writable ? secondsBetween(startedAt, writable.at + writable.ms) : null,
      ...loadFigures(report, samples),
      whileDown: { ...windowStats(during), failureKinds: failureKinds(during), writesRefused: posts.filter((s) => s.status !== 200).length, writes: posts.length },
      mended,
    }, samples);
    expect(minReplicasToWrite).toBe(1);
    expect(alone.role).toBe('master');
    expect(report.sessionsLost).toBe(0);
    expect(report.requests).toBeGreaterThan(200);
    expect(mended).toBe('ok');
    if (writesGoOn) {
      expect(report.failed).toEqual({ GET: 0, POST: 0 });
    } else {
      // Refused, not lost or hung: every failed write is the apps' 503, fast; reads are served throughout.
      expect(Object.keys(failureKinds(posts))).toEqual(['503 redis_unavailable']);
      expect(windowStats(posts).maxMs).toBeLessThanOrEqual(2000);
      expect(during.filter((s) => s.method === 'GET' && s.status !== 200)).toEqual([]);
      expect(writable).toBeDefined();
    }
  }, 180_000);
});
