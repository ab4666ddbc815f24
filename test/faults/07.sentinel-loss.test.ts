import { MASTER_NAME, sentinelCommand } from '../../toolkit/sentinel';
import { SENTINEL_SERVICES } from '../../toolkit/services';
import { sleep, waitFor } from '../../toolkit/time';
import { faultsCompose, firstSample, loadFigures, outcome, reportFault, restoreStack, secondsBetween, sentinelMaster, sentinelViews, startLoad, waitAppsServe, waitReplicaSynced, waitSteady } from './faults';
import { type LoadThread } from './load';

/** How long a lone Sentinel is watched not promoting anything: four times down-after-milliseconds (5 s). */
const WATCH_MS = 20_000;

/** Fault 7: Sentinels die: failover needs a majority of the three (2) to elect a leader, and the quorum (2). */
describe('fault 7: losing one, then two of the three Sentinels', () => {
  const compose = faultsCompose();
  const down = new Set<string>();

  const kill = (service: string) => {
    compose.kill(service);
    down.add(service);
  };
  const start = (service: string) => {
    compose.start(service);
    down.delete(service);
  };
  /** The first write answered 200 that was sent at or after `from`, waited for. */
  const writesBack = (fleet: LoadThread, from: number, timeoutMs: number) =>
    waitFor('a write to succeed again', () => firstSample(fleet, from, (s) => s.method === 'POST' && s.status === 200), timeoutMs);

  /** Kills Sentinels until only sentinel-1 is left, and waits until it sees it cannot reach the quorum. */
  const leaveOneSentinel = async () => {
    kill('sentinel-3');
    kill('sentinel-2');
    return waitFor('sentinel-1 to see it is alone', () => {
      const reply = sentinelCommand(compose, 'sentinel-1', 'ckquorum', MASTER_NAME);
      return /^NOQUORUM/.test(reply) ? reply : undefined;
    }, 20_000, 500);
  };

  // Each scenario kills the Sentinels it needs gone; whatever it killed is started again after it.
  afterEach(async () => {
    for (const service of [...down]) start(service);
    await restoreStack(compose);
  }, 240_000);

  test('when one Sentinel is killed, then killing the primary still fails over', async () => {
    const { primary, replica } = await waitSteady();
    kill('sentinel-3');
    // The others count it out once it has not answered for down-after-milliseconds (5 s).
    const quorum = await waitFor('sentinel-1 to count two usable Sentinels', () => {
      const reply = sentinelCommand(compose, 'sentinel-1', 'ckquorum', MASTER_NAME);
      return /^OK 2 usable/.test(reply) ? reply : undefined;
    }, 20_000, 500);
    const fleet = await startLoad();
    await sleep(3000);

    kill(primary);
    const killedAt = Date.now();
    const back = await writesBack(fleet, killedAt, 60_000);
    const promoted = sentinelViews(compose, ['sentinel-1', 'sentinel-2']);
    await sleep(2000);
    const report = await fleet.stop();
    start(primary);
    await waitReplicaSynced(compose, primary, replica, 90_000);
    const mended = await outcome(waitAppsServe(60_000));

    reportFault('7a. one Sentinel of three down, kill the primary', {
      sentinelsUp: 2,
      ckquorum: quorum,
      killed: primary,
      promotedBy: promoted,
      writableAgainAfterS: secondsBetween(killedAt, back.at + back.ms),
      ...loadFigures(report, fleet.samples()),
      mended,
    }, fleet.samples());
    expect(quorum).toMatch(/^OK 2 usable Sentinels/);
    expect(promoted).toEqual([replica, replica]);
    expect(back.at + back.ms - killedAt).toBeLessThanOrEqual(30_000);
    expect(report.lost.gone).toBe(0);
    expect(mended).toBe('ok');
  }, 180_000);

  test('when two Sentinels are killed, then killing the primary promotes nothing: writes fail until the primary is back', async () => {
    const { primary, replica } = await waitSteady();
    const quorum = await leaveOneSentinel();
    const fleet = await startLoad();
    await sleep(3000);

    kill(primary);
    const killedAt = Date.now();
    await sleep(WATCH_MS);
    const lone = sentinelMaster(compose, 'sentinel-1');
    const namedAfterWatch = compose.sentinelPrimary(['sentinel-1']);
    const replicaRole = compose.redisCli(replica, 'role').split('\n')[0];
    const writesDuringWatch = fleet.samples().filter((s) => s.at >= killedAt + 1000 && s.method === 'POST' && s.status === 200).length;
    start(primary);
    const startedAt = Date.now();
    const back = await writesBack(fleet, startedAt, 60_000);
    await sleep(2000);
    const report = await fleet.stop();
    const mended = await outcome(waitAppsServe(60_000));

    reportFault('7b. two Sentinels of three down, kill the primary', {
      sentinelsUp: 1,
      ckquorum: quorum,
      killed: primary,
      watchedS: WATCH_MS / 1000,
      loneSentinelFlags: lone.flags,
      loneSentinelNames: namedAfterWatch,
      replicaRoleAfterWatch: replicaRole,
      writesSucceededWhileDown: writesDuringWatch,
      writableAgainAfterPrimaryStartS: secondsBetween(startedAt, back.at + back.ms),
      ...loadFigures(report, fleet.samples()),
      mended,
    }, fleet.samples());
    expect(quorum).toMatch(/^NOQUORUM/);
    // The lone Sentinel sees the primary down (s_down) but cannot reach the quorum (o_down) nor a majority.
    expect(lone.flags).toContain('s_down');
    expect(lone.flags).not.toContain('o_down');
    expect(namedAfterWatch).toBe(primary);
    expect(replicaRole).toBe('slave');
    expect(writesDuringWatch).toBe(0);
    expect(report.lost.gone).toBe(0);
    expect(mended).toBe('ok');
  }, 180_000);

  test('when only one Sentinel is left, then SENTINEL FAILOVER, which asks no other Sentinel, still promotes the replica', async () => {
    const { primary, replica } = await waitSteady();
    await leaveOneSentinel();

    const t0 = Date.now();
    const reply = await waitFor('SENTINEL FAILOVER to be accepted', () => {
      const r = sentinelCommand(compose, 'sentinel-1', 'failover', MASTER_NAME);
      return r === 'OK' ? r : undefined;
    }, 30_000, 1000);
    await waitFor(`sentinel-1 to name ${replica}`, () => compose.sentinelPrimary(['sentinel-1']) === replica, 30_000, 200);
    const switchedAfterS = secondsBetween(t0, Date.now());
    await waitReplicaSynced(compose, primary, replica, 60_000);

    for (const s of SENTINEL_SERVICES.filter((s) => down.has(s))) start(s);
    // The two come back naming the old primary; the lone Sentinel's newer configuration epoch wins.
    const agreedAt = Date.now();
    await waitFor('the three Sentinels to agree', () => sentinelViews(compose).every((v) => v === replica), 60_000, 500);
    const othersAgreedAfterS = secondsBetween(agreedAt, Date.now());
    const mended = await outcome(waitSteady(60_000));

    reportFault('7c. one Sentinel left, SENTINEL FAILOVER', {
      sentinelsUp: 1,
      reply,
      from: primary,
      to: replica,
      switchedAfterS,
      othersAgreedAfterRestartS: othersAgreedAfterS,
      mended,
    });
    expect(reply).toBe('OK');
    expect(mended).toBe('ok');
  }, 180_000);
});
