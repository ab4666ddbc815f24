import { sleep } from '../../toolkit/time';
import { windowStats } from '../cluster/probe';
import { faultsCompose, firstSample, loadFigures, outcome, readonlyErrors, reportFault, secondsBetween, sentinelViews, staleAnswers, startLoad, waitReplicaSynced, restoreStack, waitSteady } from './faults';

const PAUSE_MS = 30_000;

/**
 * Fault 6: the Redis primary hangs (docker pause: connections stay open, nothing answers) for 30 s.
 * Sentinel's down-after (5 s) runs out during the pause: it promotes the replica; then the old primary wakes.
 */
describe('fault 6: the Redis primary frozen for 30 s under load', () => {
  const compose = faultsCompose();
  let paused: string | undefined;

  afterEach(async () => {
    if (paused) compose.unpause(paused);
    await restoreStack(compose);
  }, 240_000);

  test('when the primary is paused, then the apps answer 503 within about a second instead of hanging, Sentinel promotes the replica, writes resume, and the old primary rejoins as a replica once unpaused', async () => {
    const { primary, replica } = await waitSteady();
    const fleet = await startLoad();
    await sleep(3000);

    compose.pause(primary);
    paused = primary;
    const pausedAt = Date.now();
    let switchedAt = 0;
    while (Date.now() - pausedAt < PAUSE_MS) {
      if (!switchedAt && sentinelViews(compose).filter((v) => v === replica).length >= 2) switchedAt = Date.now();
      await sleep(250);
    }
    compose.unpause(primary);
    paused = undefined;
    const unpausedAt = Date.now();
    const since = new Date(unpausedAt);
    await waitReplicaSynced(compose, primary, replica, 60_000);
    const rejoinedAt = Date.now();
    await sleep(3000);
    const report = await fleet.stop();
    const samples = fleet.samples();
    const readonly = readonlyErrors(compose, since);
    const mended = await outcome(waitSteady(60_000));

    const firstFailure = firstSample(fleet, pausedAt, (s) => s.status !== 200);
    const back = firstSample(fleet, firstFailure?.at ?? pausedAt, (s) => s.method === 'POST' && s.status === 200);
    const stalled = windowStats(samples, pausedAt, back?.at ?? unpausedAt);
    reportFault('6. pause redis primary 30 s', {
      paused: primary,
      sentinelSwitchedAfterS: switchedAt ? secondsBetween(pausedAt, switchedAt) : null,
      firstFailure: firstFailure ? { sentAfterS: secondsBetween(pausedAt, firstFailure.at), status: firstFailure.status, error: firstFailure.error, tookMs: firstFailure.ms } : null,
      writableAgainAfterS: back ? secondsBetween(pausedAt, back.at + back.ms) : null,
      oldPrimaryReplicaAfterUnpauseS: secondsBetween(unpausedAt, rejoinedAt),
      ...loadFigures(report, samples),
      stalled,
      afterUnpause: windowStats(samples, unpausedAt),
      readonlyAfterUnpause: readonly,
      staleAnswersAfterPause: staleAnswers(samples, pausedAt),
      mended,
    }, samples);
    expect(switchedAt).toBeGreaterThan(0);
    expect(back).toBeDefined();
    expect(back!.at + back!.ms - pausedAt).toBeLessThanOrEqual(20_000);
    // The apps' Redis command timeout is 800 ms: a 503, not a hang (bounds for a loaded 2-core machine).
    expect(stalled.p99Ms).toBeLessThanOrEqual(2000);
    expect(stalled.maxMs).toBeLessThanOrEqual(3000);
    expect(Object.keys(stalled.statuses).every((s) => s === '200' || s === '503')).toBe(true);
    expect(windowStats(samples, unpausedAt).failed).toBe(0);
    expect(report.lost.gone).toBe(0);
    expect(mended).toBe('ok');
  }, 180_000);
});
