import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { type Compose } from '../../toolkit/compose';
import { sleep } from '../../toolkit/time';
import { windowStats } from '../cluster/probe';
import { LOAD, failureKinds, faultsCompose, loadFigures, outcome, reportFault, restoreStack, sessionsLost, startLoad, waitSteady } from './faults';

const ROOT = path.resolve(__dirname, '../..');
const PAUSE_MS = 30_000;
/** The value tried in the experiment: far above any real answer (a Redis outage is a 503 within 1 s), far below 60 s. */
const PROPOSED_READ_TIMEOUT = '5s';

/**
 * A copy of nginx/round-robin.conf with proxy_read_timeout set (default 60 s) beside proxy_connect_timeout,
 * written under .artifacts/ for test/faults/nginx-override.yml to mount. The repository's file is not touched.
 */
function nginxConfWithReadTimeout(value: string): string {
  const original = readFileSync(path.join(ROOT, 'nginx/round-robin.conf'), 'utf8');
  const directive = `proxy_read_timeout ${value};`;
  const changed = /^\s*proxy_read_timeout\s+[^;]+;/m.test(original)
    ? original.replace(/^(\s*)proxy_read_timeout\s+[^;]+;/m, `$1${directive}`)
    : original.replace(/^(\s*)(proxy_connect_timeout\s+[^;]+;)/m, `$1$2\n$1${directive}`);
  if (!changed.includes(directive)) throw new Error('found no proxy_connect_timeout in nginx/round-robin.conf to put proxy_read_timeout beside');
  const file = path.join(ROOT, '.artifacts', 'faults', 'round-robin.read-timeout.conf');
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, changed);
  return file;
}

/** Freezes `app` for PAUSE_MS under load; the figures before, during and after. */
async function pauseUnderLoad(compose: Compose, app: string) {
  const fleet = await startLoad();
  const started = Date.now();
  await sleep(3000);
  const pausedAt = Date.now();
  compose.pause(app);
  try {
    await sleep(pausedAt + PAUSE_MS - Date.now());
  } finally {
    compose.unpause(app);
  }
  const unpausedAt = Date.now();
  await sleep(5000);
  const report = await fleet.stop();
  const mended = await outcome(waitSteady(60_000));
  const samples = fleet.samples();
  const during = windowStats(samples, pausedAt, unpausedAt);
  return {
    report,
    samples,
    during,
    mended,
    figures: {
      paused: app,
      pausedS: (unpausedAt - pausedAt) / 1000,
      ...loadFigures(report, samples),
      before: windowStats(samples, started, pausedAt),
      during,
      // Answers received per second while the app was frozen: how much of the site kept moving.
      failureKinds: failureKinds(samples),
      answeredPerSDuringPause: Math.round((samples.filter((s) => s.at + s.ms >= pausedAt && s.at + s.ms < unpausedAt).length / (unpausedAt - pausedAt)) * 10_000) / 10,
      after: windowStats(samples, unpausedAt),
      mended,
    },
  };
}

/** Fault 2: an app hangs (docker pause: its kernel still accepts connections, the process answers nothing). */
describe('fault 2: one app frozen for 30 s under load', () => {
  const compose = faultsCompose();
  let nginxOverridden = false;

  // Back to nginx as configured and app-3 running, whichever scenario ran.
  afterEach(async () => {
    if (compose.health('app-3') === 'paused') compose.unpause('app-3');
    if (nginxOverridden) compose.run(['up', '-d', '--no-deps', 'nginx']);
    nginxOverridden = false;
    await restoreStack(compose);
  }, 240_000);

  test('when app-3 is paused with nginx as configured, then no session is lost, and the requests sent to app-3 wait for the pause to end', async () => {
    await waitSteady();

    const { report, samples, during, mended, figures } = await pauseUnderLoad(compose, 'app-3');

    const readTimeout = /^\s*proxy_read_timeout\s+([^;]+);/m.exec(readFileSync(path.join(ROOT, 'nginx/round-robin.conf'), 'utf8'))?.[1] ?? '60s (default)';
    reportFault('2a. pause app-3 30 s (nginx as configured)', { proxyReadTimeout: readTimeout, ...figures }, samples);
    expect(sessionsLost(report)).toBe(0);
    // Few requests fail, caught by the freeze or the thaw: app-3 had sent its Redis command when it froze,
    // and that command's 800 ms timer fires first thing on thawing (503); nginx loses the connection of a
    // POST it may not retry (502); or, with nginx's proxy_read_timeout (5 s), a POST sent to the frozen app
    // gets 504 (GETs are retried elsewhere). Never no answer, and never a failed GET from a timeout.
    const failures = samples.filter((s) => s.status !== 200);
    expect(failures.every((s) => s.status === 502 || s.status === 503 || (s.status === 504 && s.method === 'POST'))).toBe(true);
    expect(failures.length).toBeLessThanOrEqual(2 * LOAD.users);
    // Nothing waits longer than the pause itself plus a margin for a loaded machine.
    expect(during.maxMs).toBeLessThan(PAUSE_MS + 10_000);
    expect(mended).toBe('ok');
  }, 180_000);

  test(`when app-3 is paused with proxy_read_timeout ${PROPOSED_READ_TIMEOUT} (an experiment), then nginx gives up on it within that time and retries GETs elsewhere`, async () => {
    const conf = nginxConfWithReadTimeout(PROPOSED_READ_TIMEOUT);
    const experiment = compose.with({ files: ['test/faults/nginx-override.yml'], env: { FAULTS_NGINX_CONF: conf } });
    nginxOverridden = true;
    experiment.run(['up', '-d', '--no-deps', 'nginx']);
    await waitSteady();

    const { report, samples, during, mended, figures } = await pauseUnderLoad(compose, 'app-3');

    reportFault(`2b. pause app-3 30 s (experiment: proxy_read_timeout ${PROPOSED_READ_TIMEOUT})`, figures, samples);
    expect(sessionsLost(report)).toBe(0);
    expect(report.failed.GET).toBe(0);
    // A POST sent to app-3 is not retried elsewhere (it may have been applied): nginx answers 504 after 5 s.
    expect(Object.keys(failureKinds(samples)).every((k) => k === '504')).toBe(true);
    // A GET waits out one read timeout on app-3, then goes to another app: 5 s, plus a loaded machine's margin.
    expect(during.p99Ms).toBeLessThan(8000);
    expect(during.maxMs).toBeLessThan(12_000);
    expect(mended).toBe('ok');
  }, 180_000);
});
