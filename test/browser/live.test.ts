import request from 'supertest';
import { startInstance } from '../helpers/instance';
import { startOwnedRedis, type OwnedRedis } from '../helpers/redis-server';
import { launchBrowser, waitForText, type TestBrowser } from './chromium';

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
      await page.locator('#live-events li[data-type="gone"][data-instance="app-2"]').waitFor({ timeout: 3000 });
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
