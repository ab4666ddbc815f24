import { APP_SERVICES } from '../../toolkit/services';
import { sleep, waitFor } from '../../toolkit/time';
import { faultsCompose, firstSample, loadFigures, outcome, reportFault, secondsBetween, startLoad, restoreStack, waitSteady } from './faults';

/** Fault 1: a deploy: the three apps restarted one at a time while users keep clicking. */
describe('fault 1: a rolling restart of the three apps under load', () => {
  const compose = faultsCompose();

  afterEach(async () => {
    compose.run(['start', ...APP_SERVICES]);
    await restoreStack(compose);
  });

  test('when app-1, app-2 and app-3 are restarted one after the other, each waited for until healthy and serving, then no request fails and no session is lost', async () => {
    await waitSteady();
    const fleet = await startLoad();
    const started = Date.now();
    await sleep(3000);

    const restarts: Record<string, { restartS: number; healthyAfterS: number; servingAfterS: number }> = {};
    for (const app of APP_SERVICES) {
      const t0 = Date.now();
      // SIGTERM: the app fails its readiness, stops accepting, finishes what it has, then starts again.
      compose.run(['restart', app]);
      const restarted = Date.now();
      await compose.waitHealthy([app], 60_000);
      const healthy = Date.now();
      // nginx takes the app back (it may have left it alone for fail_timeout): the next one waits for that.
      const served = await waitFor(`${app} to serve again`, () => firstSample(fleet, restarted, (s) => s.servedBy === app), 30_000);
      restarts[app] = { restartS: secondsBetween(t0, restarted), healthyAfterS: secondsBetween(t0, healthy), servingAfterS: secondsBetween(t0, served.at) };
    }
    await sleep(3000);
    const report = await fleet.stop();
    const mended = await outcome(waitSteady(60_000));

    reportFault('1. rolling restart of app-1..3', { users: fleet.users, durationS: secondsBetween(started, Date.now()), restarts, servedBy: report.servedBy, ...loadFigures(report, fleet.samples()), mended }, fleet.samples());
    expect(report.failed).toEqual({ GET: 0, POST: 0 });
    expect(report.sessionsLost).toBe(0);
    expect(report.requests).toBeGreaterThan(200);
    expect(mended).toBe('ok');
  }, 240_000);
});
