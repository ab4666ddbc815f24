import { replicationInfo } from '../../toolkit/sentinel';
import { sleep } from '../../toolkit/time';
import { faultsCompose, loadFigures, outcome, reportFault, startLoad, waitReplicaSynced, restoreStack, waitSteady } from './faults';

/** Fault 9: the replica goes away; the primary goes on alone (no min-replicas-to-write in redis/*.conf). */
describe('fault 9: the Redis replica down', () => {
  const compose = faultsCompose();
  let stopped: string | undefined;

  afterEach(async () => {
    if (stopped) compose.start(stopped);
    await restoreStack(compose);
  });

  test('when the replica is stopped for 10 s under load, then the primary keeps serving every request, and the replica catches up when back', async () => {
    const { primary, replica } = await waitSteady();
    // 0 (the default, not set in redis/*.conf): the primary accepts writes with no replica connected.
    const minReplicasToWrite = compose.redisCli(primary, 'config', 'get', 'min-replicas-to-write').split('\n')[1];
    const fleet = await startLoad();
    await sleep(3000);

    compose.stop(replica);
    stopped = replica;
    const alone = replicationInfo(compose, primary);
    await sleep(10_000);
    compose.start(replica);
    stopped = undefined;
    const startedAt = Date.now();
    await waitReplicaSynced(compose, replica, primary);
    const syncedAfterS = (Date.now() - startedAt) / 1000;
    await sleep(2000);
    const report = await fleet.stop();
    const mended = await outcome(waitSteady(60_000));

    reportFault('9. replica down 10 s', {
      stopped: replica,
      minReplicasToWrite,
      primaryRoleWhileAlone: alone.role,
      connectedReplicasWhileAlone: Number(alone.connected_slaves),
      replicaSyncedAfterStartS: syncedAfterS,
      ...loadFigures(report, fleet.samples()),
      mended,
    }, fleet.samples());
    expect(minReplicasToWrite).toBe('0');
    expect(alone.role).toBe('master');
    expect(alone.connected_slaves).toBe('0');
    expect(report.failed).toEqual({ GET: 0, POST: 0 });
    expect(report.sessionsLost).toBe(0);
    expect(report.requests).toBeGreaterThan(200);
    expect(mended).toBe('ok');
  }, 180_000);
});
