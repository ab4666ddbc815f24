import { cutOff } from '../../toolkit/netfault';
import { REDIS_NODES, SENTINEL_SERVICES } from '../../toolkit/services';
import { sleep } from '../../toolkit/time';
import { TestClient } from '../helpers/client';
import { cutsHealedAfterEach, faultsCompose, faultsTarget, loadFigures, outcome, reportFault, secondsBetween, sentinelViews, staleAnswers, startLoad, waitReplicaSynced, waitSteady } from './faults';

/** How long the primary stays cut off: past Sentinel's down-after (5 s), its election and the apps' move. */
const CUT_MS = 24_000;
/** min-replicas-to-write as redis/replicated.conf ships it. */
const SHIPPED_MIN_REPLICAS = '1';

/** A session ended while the primary is cut off, and whether it came back to life after the heal. */
interface Ended {
  how: 'revoked' | 'logged out';
  answeredAt: number;
  status: number;
  client: TestClient;
}

/**
 * Two sessions of bob's and one of carol's, logged in before the fault. `endNow` ends two of them: bob's
 * laptop revokes his phone, carol logs out. Each client keeps its cookie, to try it again after the heal.
 */
async function sessionsToEnd(): Promise<{ endNow(): Promise<Ended[]> }> {
  const target = faultsTarget();
  const [phone, laptop, carol] = [new TestClient(), new TestClient(), new TestClient()];
  const phoneHandle = (await phone.login(target, 'bob')).body.session.handle as string;
  await laptop.login(target, 'bob');
  await carol.login(target, 'carol');
  return {
    async endNow() {
      // The phone's own handle: bob has other sessions too (the load's users).
      const revoked = await laptop.delete(target, `/api/sessions/${phoneHandle}`);
      const revokedAt = Date.now();
      const cookie = carol.cookie;
      const logout = await carol.post(target, '/api/logout');
      carol.cookie = cookie; // a browser forgets it; a copy of it would not
      return [
        { how: 'revoked', answeredAt: revokedAt, status: revoked.status, client: phone },
        { how: 'logged out', answeredAt: Date.now(), status: logout.status, client: carol },
      ];
    },
  };
}

/**
 * Fault 11: the Redis primary is cut off from the three Sentinels and from both replicas (packets dropped
 * in its network namespace) while the apps still reach it — the partition the Sentinel docs describe. The
 * Sentinels promote a replica; the old primary goes on answering the apps until they move; when the cut
 * heals it becomes a replica and what it took in meanwhile is thrown away. With min-replicas-to-write 1 it
 * refuses writes once no replica has acknowledged for min-replicas-max-lag (5 s): that bounds the loss.
 * Measured both ways: writes acknowledged and then gone (a counter that went back), and ended sessions
 * that came back to life.
 */
describe('fault 11: the Redis primary partitioned from the Sentinels and the replica', () => {
  const compose = faultsCompose();
  const cuts = cutsHealedAfterEach(compose);

  afterEach(() => {
    // The shipped setting back on whichever node it was changed on (the old primary is a replica by now).
    for (const node of REDIS_NODES) compose.redisCli(node, 'config', 'set', 'min-replicas-to-write', SHIPPED_MIN_REPLICAS);
  });

  test.each([
    { setting: 'min-replicas-to-write 1 (shipped)', minReplicas: SHIPPED_MIN_REPLICAS },
    { setting: 'min-replicas-to-write 0 (no bound)', minReplicas: '0' },
  ])('when the primary is cut off for 24 s under load with $setting, then the replica is promoted, the old primary rejoins as its replica, and every acknowledged write lost is counted', async ({ setting, minReplicas: wanted }) => {
    const { primary, replica, replicas } = await waitSteady();
    // CONFIG SET on the running primary: both settings measured on one stack, the same load, one run.
    compose.redisCli(primary, 'config', 'set', 'min-replicas-to-write', wanted);
    // The bound on how long an isolated primary goes on acknowledging writes (redis/replicated.conf): with
    // min-replicas-to-write 0 there is none.
    const config = (name: string) => compose.redisCli(primary, 'config', 'get', name).split('\n')[1] ?? '';
    const minReplicas = Number(config('min-replicas-to-write'));
    const maxLagS = Number(config('min-replicas-max-lag'));
    const toEnd = await sessionsToEnd();
    const fleet = await startLoad();
    await sleep(3000);

    cuts.keep(cutOff(compose, primary, [...replicas, ...SENTINEL_SERVICES]));
    const cutAt = Date.now();
    await sleep(2000); // before Sentinel's down-after runs out: these land on the isolated primary
    const ended = await toEnd.endNow();
    let promotedAt = 0;
    while (Date.now() - cutAt < CUT_MS) {
      if (!promotedAt && sentinelViews(compose).filter((v) => v === replica).length >= 2) promotedAt = Date.now();
      await sleep(250);
    }
    cuts.heal();
    const healedAt = Date.now();
    await waitReplicaSynced(compose, primary, replica, 90_000);
    const rejoinedAt = Date.now();
    await sleep(4000); // every user writes again after the heal: a counter that went back shows here
    const report = await fleet.stop();
    const samples = fleet.samples();
    const cameBack = await Promise.all(ended.map(async (e) => ({ ...e, after: (await e.client.get(faultsTarget(), '/api/session')).status })));
    const mended = await outcome(waitSteady(60_000));

    // Acknowledged (204) and then alive again (200): an end undone.
    const undone = (how: Ended['how']) => cameBack.filter((e) => e.how === how && e.status === 204 && e.after === 200).length;
    const figures = {
      cut: `${primary} from ${[...replicas, ...SENTINEL_SERVICES].join(', ')}; the apps still reach it`,
      minReplicasToWrite: minReplicas,
      minReplicasMaxLagS: maxLagS,
      promotedAfterS: promotedAt ? secondsBetween(cutAt, promotedAt) : null,
      oldPrimaryReplicaAfterHealS: secondsBetween(healedAt, rejoinedAt),
      ...loadFigures(report, samples),
      acknowledgedWritesLost: report.lost.writes,
      sessionsWithLostWrites: report.lost.stale,
      staleAnswers: staleAnswers(samples, cutAt),
      endedDuringCut: cameBack.map((e) => `${e.how}: ${e.status}, after the heal ${e.after}`),
      revocationsUndone: undone('revoked'),
      logoutsUndone: undone('logged out'),
      mended,
    };
    reportFault(`11. primary partitioned from the Sentinels and the replicas 24 s, ${setting}`, figures, samples);

    expect(minReplicas).toBe(Number(wanted));
    expect(promotedAt).toBeGreaterThan(0);
    expect(report.lost.gone).toBe(0);
    expect(mended).toBe('ok');
    // With min-replicas-to-write ≥ 1 the isolated primary refuses writes once its replica has been silent
    // for min-replicas-max-lag: what it acknowledged before is all that can be lost. Without, nothing bounds
    // it (docs/reliability.md, fault 11).
    if (minReplicas >= 1) {
      const windowEnd = cutAt + (maxLagS + 2) * 1000;
      const acknowledgedInWindow = samples.filter((x) => x.method === 'POST' && x.status === 200 && x.at >= cutAt && x.at <= windowEnd).length;
      expect(report.lost.writes).toBeLessThanOrEqual(acknowledgedInWindow);
    }
  }, 240_000);
});
