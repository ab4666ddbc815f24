import { sleep, waitFor } from '../../toolkit/time';
import { failureKinds, faultsCompose, firstSample, loadFigures, outcome, reportFault, restoreStack, secondsBetween, startLoad, waitSteady } from './faults';

/** How many times app-2 is stopped and started again (FAULTS_STOPS). */
const STOPS = Number(process.env.FAULTS_STOPS ?? 6);

/**
 * Fault 10: the same app stopped (SIGTERM, a graceful stop) and started again, over and over, under load: the
 * race between the app closing a kept-alive connection and nginx writing a POST into it (docs/reliability.md,
 * finding 2) has many chances to show.
 */
describe('fault 10: graceful stops of one app, repeated', () => {
  const compose = faultsCompose();

  afterEach(async () => {
    compose.run(['start', 'app-2']);
    await restoreStack(compose);
  });

  test(`when app-2 is stopped gracefully and started again ${STOPS} times under load, then no request fails, not even a POST, and no session is lost`, async () => {
    await waitSteady();
    const fleet = await startLoad();
    const started = Date.now();
    await sleep(3000);

    const cycles: { stopS: number; servingAgainS: number }[] = [];
    for (let i = 0; i < STOPS; i += 1) {
      const t0 = Date.now();
      compose.stop('app-2');
      const stopped = Date.now();
      await sleep(2000);
      compose.start('app-2');
      await compose.waitHealthy(['app-2'], 60_000);
      // nginx takes app-2 back once its fail_timeout (10 s) has passed: the next stop waits for that, so every
      // stop meets kept-alive connections carrying traffic.
      const served = await waitFor('app-2 to serve again', () => firstSample(fleet, stopped, (s) => s.servedBy === 'app-2'), 60_000);
      await sleep(2000);
      cycles.push({ stopS: secondsBetween(t0, stopped), servingAgainS: secondsBetween(t0, served.at) });
    }
    const report = await fleet.stop();
    const mended = await outcome(waitSteady(60_000));
    const samples = fleet.samples();

    reportFault('10. graceful stops of app-2', { stops: STOPS, users: fleet.users, durationS: secondsBetween(started, Date.now()), cycles, failures: failureKinds(samples), ...loadFigures(report, samples), mended }, samples);
    expect(report.failed).toEqual({ GET: 0, POST: 0 });
    expect(report.sessionsLost).toBe(0);
    expect(report.requests).toBeGreaterThan(500);
    expect(mended).toBe('ok');
  }, 120_000 + STOPS * 90_000);
});
