import { spawnSync } from 'node:child_process';
import { sleep, waitFor } from '../../toolkit/time';
import { windowStats } from '../cluster/probe';
import { faultsCompose, faultsInfo, firstSample, loadFigures, outcome, reportFault, secondsBetween, startLoad, restoreStack, waitSteady } from './faults';

/** Fault 3: app-2 is recreated (a redeploy, a reschedule) and comes back at another address. */
describe('fault 3: an app recreated with a new address', () => {
  const compose = faultsCompose();
  const { project } = faultsInfo();
  const network = `${project}_front`;
  const holder = `${project}-address-holder`;
  const frontIp = () => compose.inspect('app-2', `{{(index .NetworkSettings.Networks "${network}").IPAddress}}`);
  const docker = (...args: string[]) => spawnSync('docker', args, { encoding: 'utf8', timeout: 60_000 });

  afterEach(async () => {
    docker('rm', '-f', holder);
    compose.run(['up', '-d', '--no-deps', 'app-2']);
    await restoreStack(compose);
  });

  test('when app-2 is recreated and gets a new IP address, then nginx follows it: no request fails once it is healthy, and it serves again', async () => {
    await waitSteady();
    const image = compose.inspect('app-2', '{{.Config.Image}}');
    const fleet = await startLoad();
    const started = Date.now();
    await sleep(3000);

    const oldIp = frontIp();
    compose.stop('app-2');
    // Docker 20.10 hands a recreated container the lowest free address, usually its old one. A placeholder
    // takes that address first, so app-2 comes back elsewhere, as it would on a busy network or another
    // host. It carries the project's label: `down --remove-orphans` removes it if this test does not.
    const run = docker('run', '-d', '--rm', '--name', holder, '--network', network, '--label', `com.docker.compose.project=${project}`, '--entrypoint', 'sleep', image, '600');
    if (run.status !== 0) throw new Error(`placeholder container: ${run.stderr}`);
    const holderIp = docker('inspect', '-f', `{{(index .NetworkSettings.Networks "${network}").IPAddress}}`, holder).stdout.trim();
    const recreatedAt = Date.now();
    compose.run(['up', '-d', '--force-recreate', '--no-deps', 'app-2']);
    const newIp = frontIp();
    await compose.waitHealthy(['app-2'], 60_000);
    const healthyAt = Date.now();
    // nginx asks Docker's DNS again every 5 s (resolver valid=5s) and takes app-2 at its new address.
    const served = await waitFor('app-2 to serve at its new address', () => firstSample(fleet, recreatedAt, (s) => s.servedBy === 'app-2'), 30_000);
    await sleep(10_000);
    const report = await fleet.stop();
    docker('rm', '-f', holder);
    const mended = await outcome(waitSteady(60_000));

    const samples = fleet.samples();
    const afterHealthy = windowStats(samples, healthyAt);
    const servedAfter = samples.filter((s) => s.at >= served.at && s.servedBy === 'app-2').length;
    reportFault('3. recreate app-2 with a new address', {
      oldIp,
      placeholderIp: holderIp,
      newIp,
      // nginx sends it requests as soon as it listens, before Docker's health check (every 3 s) says healthy.
      healthyAfterRecreateS: secondsBetween(recreatedAt, healthyAt),
      servingAfterRecreateS: secondsBetween(recreatedAt, served.at),
      servedByApp2SinceBack: servedAfter,
      ...loadFigures(report, samples),
      durationS: secondsBetween(started, Date.now()),
      afterHealthy,
      mended,
    }, samples);
    expect(newIp).not.toBe(oldIp);
    expect(afterHealthy.failed).toBe(0);
    expect(afterHealthy.requests).toBeGreaterThan(100);
    expect(servedAfter).toBeGreaterThan(10);
    expect(report.sessionsLost).toBe(0);
    expect(mended).toBe('ok');
  }, 180_000);
});
