import { APP_SERVICES } from '../../toolkit/services';
import { sleep } from '../../toolkit/time';
import { TestClient } from '../helpers/client';
import { reportFigures } from '../helpers/stack';
import { clusterCompose, clusterInfo } from './cluster';
import { Probe } from './probe';

/** Scenario 2: an app container dies (kill) or is stopped (graceful) while a user keeps clicking. */
describe('scenario 2: an app instance goes away under traffic', () => {
  const compose = clusterCompose();
  const target = { url: clusterInfo().httpUrl };

  afterEach(async () => {
    compose.run(['start', ...APP_SERVICES]);
    await compose.waitHealthy(APP_SERVICES);
  });

  test('when app-2 is killed, then no session is lost, GETs do not fail, and app-2 rejoins after a restart', async () => {
    const probe = new Probe(target);
    await probe.login('alice');
    probe.start();
    await sleep(2000);

    compose.kill('app-2');
    await sleep(5000);
    const during = { ...(await probe.stop()) };
    const servedAfterKill = new Set(Object.keys(during.servedBy));

    compose.start('app-2');
    const restartedAt = Date.now();
    await compose.waitHealthy(['app-2']);
    // nginx leaves a failed server alone for fail_timeout (10 s) and re-resolves its name every 5 s.
    const rejoin = new TestClient();
    await rejoin.login(target, 'bob');
    let rejoinedAfterMs = -1;
    while (rejoinedAfterMs < 0 && Date.now() - restartedAt < 60_000) {
      const res = await rejoin.get(target, '/api/session');
      if (res.headers['x-served-by'] === 'app-2') rejoinedAfterMs = Date.now() - restartedAt;
      else await sleep(200);
    }

    reportFigures('kill app-2', { rejoinedAfterS: rejoinedAfterMs / 1000, requests: during.requests, failedGET: during.failed.GET, failedPOST: during.failed.POST, sessionsLost: during.sessionsLost, servedBy: during.servedBy, statuses: during.statuses });
    expect(during.sessionsLost).toBe(0);
    // Goal 0. nginx retries a GET on the next app, but a request that spans nginx re-resolving the dead
    // app's name can find no peer left to try ("no live upstreams" in its log): seen about once in 300.
    expect(during.failed.GET / during.requests).toBeLessThanOrEqual(0.01);
    expect(during.requests).toBeGreaterThan(20);
    expect(servedAfterKill).toContain('app-1');
    expect(servedAfterKill).toContain('app-3');
    expect(rejoinedAfterMs).toBeGreaterThan(0);
  }, 180_000);

  test("when app-2 is stopped gracefully, then no session is lost and no request fails but by nginx's no-live-upstreams race", async () => {
    const probe = new Probe(target);
    await probe.login('carol');
    probe.start();
    await sleep(2000);

    const stoppedAt = new Date();
    compose.stop('app-2');
    await sleep(3000);
    const report = await probe.stop();
    compose.start('app-2');
    await compose.waitHealthy(['app-2']);
    // What nginx says about a failed request (a connect timeout to the stopped app is retried, and expected).
    const nginxErrors = compose.logsSince('nginx', stoppedAt).split('\n').filter((line) => line.includes('[error]') && !line.includes('upstream timed out'));

    // nginx's own race (nginx/nginx#1656, open): a request that picks its peer just as the re-resolved
    // name of the stopped app changes the peer list finds "no live upstreams" and gets a 502 — never
    // having reached an app, so nothing is applied. CI runs 12 and 20 saw it once each (1 request of ~270).
    const noLivePeer = nginxErrors.filter((line) => line.includes('no live upstreams')).length;
    const failed = report.failed.GET + report.failed.POST;
    reportFigures('stop app-2 (graceful)', { requests: report.requests, failedGET: report.failed.GET, failedPOST: report.failed.POST, noLiveUpstreams: noLivePeer, sessionsLost: report.sessionsLost, servedBy: report.servedBy, statuses: report.statuses, nginxErrors });
    expect(report.sessionsLost).toBe(0);
    // Goal 0 failed. Every failure there is must be that race, each with its line in nginx's log, and rare:
    // the app's drain itself (it refuses new connections, answers what it has) loses none.
    expect(failed).toBeLessThanOrEqual(noLivePeer);
    expect(failed).toBeLessThanOrEqual(Math.max(1, report.requests * 0.01));
    expect(Object.keys(report.statuses).every((status) => status === '200' || status === '502')).toBe(true);
    expect(report.requests).toBeGreaterThan(20);
  }, 180_000);
});
