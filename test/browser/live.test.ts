import Redis from 'ioredis';
import request from 'supertest';
import { LIVE_KEYS } from '../../app/src/live/redis-board';
import { sleep } from '../../toolkit/time';
import { TestClient } from '../helpers/client';
import { startInstance } from '../helpers/instance';
import { startOwnedRedis, type OwnedRedis } from '../helpers/redis-server';
import { launchBrowser, waitForText, type TestBrowser } from './chromium';
import { errorsOnChart, eventShown } from './live-page';

/**
 * The live cluster view in real headless Chromium, against instances in this process on a Redis of this
 * file's own (the suite's Redis holds every other file's instances too).
 */
describe('live cluster view (in-process instances)', () => {
  let owned: OwnedRedis;
  let browser: TestBrowser | undefined;

  beforeAll(async () => {
    owned = await startOwnedRedis();
  });
  afterAll(async () => {
    await owned?.destroy();
  });
  afterEach(async () => {
    await browser?.close();
    browser = undefined;
  });

  test('when one of two instances stops while the page is open, then its box turns gone within 3 s, its line ends on the chart and the events list it', async () => {
    const [app1, app2] = await Promise.all([startInstance({ REDIS_URL: owned.url, INSTANCE_ID: 'app-1' }), startInstance({ REDIS_URL: owned.url, INSTANCE_ID: 'app-2' })]);
    let app2Open = true;
    try {
      browser = await launchBrowser();
      const { page } = browser;
      await page.goto(`${app1.url}/`);
      await page.locator('#live[data-ready="true"]').waitFor();
      for (let i = 0; i < 20; i++) await request(app2.url).get('/api/ping');
      await page.locator('#live-instances [data-instance="app-2"][data-state="up"]').waitFor({ timeout: 5000 });
      await waitForText(page.locator('#live-scope'), 'read from the shared Redis');
      await page.locator('#live-chart polyline.requests[data-instance="app-2"]').first().waitFor({ timeout: 5000 });

      const stoppedAt = Date.now();
      await app2.close();
      app2Open = false;
      await page.locator('#live-instances [data-instance="app-2"][data-state="gone"]').waitFor({ timeout: 4000 });
      const shownAfterMs = Date.now() - stoppedAt;
      // This stop's event: an earlier test's app-2 may be listed gone too (CI run 29, seed 928094861).
      await eventShown(page, '#live-events li[data-type="gone"][data-instance="app-2"]', stoppedAt, 3000);
      await page.locator('#live-chart .marker[data-type="gone"]').first().waitFor({ timeout: 3000 });
      await browser.screenshot('inprocess-live-app-2-stopped');

      expect(shownAfterMs).toBeLessThanOrEqual(3000);
      expect(await page.locator('#live-instances [data-instance="app-1"]').getAttribute('data-state')).toBe('up');
      expect(await page.locator('#live-redis .live-box').first().getAttribute('data-state')).toBe('primary');
      expect(browser.problems).toEqual([]);
    } finally {
      await Promise.all([app1.close(), app2Open ? app2.close() : undefined]);
    }
  });

  test('when Redis goes away and comes back with the page open, then the errors line shows the 503 window, the outage is a band, and a primary change is marked', async () => {
    const [app1, app2] = await Promise.all([startInstance({ REDIS_URL: owned.url, INSTANCE_ID: 'app-1' }), startInstance({ REDIS_URL: owned.url, INSTANCE_ID: 'app-2' })]);
    const admin = new Redis(owned.url, { maxRetriesPerRequest: 0, retryStrategy: () => 100 }).on('error', () => undefined);
    const client = new TestClient();
    await client.login(app1, 'bob');
    let reading = true;
    const reads = (async () => {
      while (reading) {
        await client.get(app1, '/api/session');
        await sleep(50);
      }
    })();
    try {
      browser = await launchBrowser();
      const { page } = browser;
      await page.goto(`${app1.url}/`);
      await page.locator('#live[data-ready="true"]').waitFor();
      await page.locator('#live-instances [data-instance="app-2"][data-state="up"]').waitFor({ timeout: 5000 });

      const downAt = Date.now();
      await owned.stop();
      await sleep(3000);
      await owned.start();
      await eventShown(page, '#live-events li[data-type="redis-outage"][data-instance="app-1"]', downAt, 10_000);
      await eventShown(page, '#live-chart .marker[data-type="redis-outage"]', downAt, 5000);
      // As if Sentinel had moved the primary: the apps last saw another node, and find this one on reconnect.
      const switchedAt = Date.now();
      await admin.set(LIVE_KEYS.primaries, '10.0.0.9:6379');
      await admin.client('KILL', 'TYPE', 'normal');
      await eventShown(page, '#live-events li[data-type="primary-changed"]', switchedAt, 10_000);
      await eventShown(page, '#live-chart .marker[data-type="primary-changed"]', switchedAt, 5000);
      const errors = await errorsOnChart(page);
      const listed = await page.locator('#live-events li[data-type="primary-changed"]').first().textContent();
      await browser.screenshot('inprocess-live-redis-outage');

      expect(errors).toBeGreaterThan(0);
      expect(listed).toMatch(new RegExp(`Redis primary switched to 127\\.0\\.0\\.1:${owned.port} \\(seen by app-\\d\\)`));
      expect(browser.problems).toEqual([]);
    } finally {
      reading = false;
      await reads;
      admin.disconnect();
      await Promise.all([app1.close(), app2.close()]);
    }
  });

  test('when the instance keeps its sessions in memory (the sticky variant), then the view shows that instance alone and says why', async () => {
    const sticky = await startInstance({ SESSION_STORE: 'memory', INSTANCE_ID: 'sticky-1' });
    try {
      browser = await launchBrowser();
      const { page } = browser;
      await page.goto(`${sticky.url}/`);
      await page.locator('#live[data-ready="true"]').waitFor();

      const scope = await waitForText(page.locator('#live-scope'), 'No shared store');
      const boxes = await page.locator('#live-instances .live-box').evaluateAll((items) => items.map((item) => item.getAttribute('data-instance')));
      await browser.screenshot('inprocess-live-sticky');

      expect(scope).toContain('sticky-1 can show only itself');
      expect(boxes).toEqual(['sticky-1']);
      expect(await page.locator('#live-redis .live-box').first().getAttribute('data-state')).toBe('none');
      expect(browser.problems).toEqual([]);
    } finally {
      await sticky.close();
    }
  });
});
