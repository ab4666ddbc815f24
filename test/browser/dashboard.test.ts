import { sleep } from '../../toolkit/time';
import { DEMO_USERS, TestClient } from '../helpers/client';
import { startInstance, type TestInstance } from '../helpers/instance';
import { redisProxy } from '../helpers/redis-proxy';
import { startOwnedRedis, type OwnedRedis } from '../helpers/redis-server';
import { launchBrowser, logInThroughForm, shownVisits, stripInstances, waitForText, type TestBrowser } from './chromium';

/** The dashboard in real headless Chromium, against app instances in this process sharing the test Redis. */
describe('dashboard page (in-process instances)', () => {
  let app1: TestInstance;
  let app2: TestInstance;
  let browser: TestBrowser;

  beforeAll(async () => {
    [app1, app2] = await Promise.all([startInstance({ INSTANCE_ID: 'app-1' }), startInstance({ INSTANCE_ID: 'app-2' })]);
  });

  afterAll(async () => {
    await Promise.all([app1?.close(), app2?.close()]);
  });

  beforeEach(async () => {
    browser = await launchBrowser();
  });

  afterEach(async () => {
    await browser?.close();
  });

  async function open(instance: TestInstance): Promise<void> {
    await browser.page.goto(`${instance.url}/`);
    await browser.page.locator('body[data-ready="true"]').waitFor();
  }

  test('when the page is requested, then the HTML is revalidated on every load, its assets are cacheable, and no inline script may run', async () => {
    const html = await fetch(`${app1.url}/`);
    const script = await fetch(`${app1.url}/js/dashboard.js`);
    const style = await fetch(`${app1.url}/dashboard.css`);

    expect(html.status).toBe(200);
    expect(html.headers.get('content-type')).toMatch(/^text\/html/);
    expect(html.headers.get('cache-control')).toBe('no-cache');
    expect(html.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(html.headers.get('x-content-type-options')).toBe('nosniff');
    expect(html.headers.get('x-served-by')).toBe('app-1');
    expect(await html.text()).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    for (const asset of [script, style]) {
      expect(asset.status).toBe(200);
      expect(asset.headers.get('cache-control')).toBe('public, max-age=300');
    }
    expect(script.headers.get('content-type')).toMatch(/javascript/);
  });

  test('when a user logs in through the form, then the page shows the session, counts visits, keeps a cart, lists the device and logs out', async () => {
    const { page } = browser;
    await open(app1);

    await logInThroughForm(page, 'alice');
    await waitForText(page.locator('#session-created-by'), 'app-1');
    expect(await shownVisits(page)).toBe(0);
    for (let i = 0; i < 3; i++) await page.getByRole('button', { name: 'Count a visit' }).click();
    await waitForText(page.locator('#visits'), /^3$/);
    await waitForText(page.locator('#idle-left'), /^\d+:\d\d left/);
    await waitForText(page.locator('#absolute-left'), /^\d+:\d\d:\d\d left/);

    await page.getByLabel('Product').selectOption('croissant');
    await page.getByLabel('Quantity').fill('2');
    await page.getByRole('button', { name: 'Add to cart' }).click();
    await waitForText(page.locator('#cart-items li[data-product="croissant"]'), 'croissant × 2');
    await page.getByLabel('Product').selectOption('teapot');
    await page.getByLabel('Quantity').fill('1');
    await page.getByRole('button', { name: 'Add to cart' }).click();
    await waitForText(page.locator('#cart-items li[data-product="teapot"]'), 'teapot × 1');
    await page.getByRole('button', { name: 'Remove croissant from the cart' }).click();
    await page.locator('#cart-items li[data-product="croissant"]').waitFor({ state: 'detached' });

    await waitForText(page.locator('#devices-rows tr.current'), 'this device');
    // The session's log, newest first: the cart removal, two adds, three visits, the login.
    await waitForText(page.locator('#activity-events li').first(), 'removed croissant from the cart on app-1');
    const actions = await Promise.all((await page.locator('#activity-events li').all()).map((li) => li.getAttribute('data-action')));
    expect(actions).toEqual(['cart_remove', 'cart_add', 'cart_add', 'visit', 'visit', 'visit', 'login']);
    await waitForText(page.locator('#cluster-store'), 'Redis (standalone)');
    await waitForText(page.locator('#cluster-instances'), 'app-1');
    expect(new Set(await stripInstances(page))).toEqual(new Set(['app-1']));
    await browser.screenshot('inprocess-logged-in');

    await page.getByRole('button', { name: 'Log out', exact: true }).click();
    await page.locator('#login-form').waitFor({ state: 'visible' });
    expect(await page.locator('#session-panel').isHidden()).toBe(true);
    expect(await page.locator('#session-lost').isHidden()).toBe(true);
    expect((await fetch(`${app1.url}/api/sessions`)).status).toBe(401);
    expect(browser.problems).toEqual([]);
  });

  test('when the user has a session on another device, then the page lists it and revokes it', async () => {
    const { page } = browser;
    const otherDevice = new TestClient('sc.sid', 'Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0');
    const other = (await otherDevice.login(app2, 'carol')).body.session as { handle: string };
    await open(app1);

    await logInThroughForm(page, 'carol');
    const row = page.locator(`#devices-rows tr[data-handle="${other.handle}"]`);
    await waitForText(row, 'on app-2');
    expect(await row.textContent()).toContain('Firefox on Linux');
    await row.getByRole('button', { name: /^Revoke the session/ }).click();
    await row.waitFor({ state: 'detached' });

    const revoked = await otherDevice.get(app2, '/api/session');
    expect(revoked.status).toBe(401);
    expect(revoked.body.error).toBe('session_revoked');
    expect(await page.locator('#session-panel').isVisible()).toBe(true);
  });

  test('when "log out all my other devices" comes past the re-authentication window, then the page asks for the password and, given it, logs them out', async () => {
    const { page } = browser;
    const shortWindow = await startInstance({ INSTANCE_ID: 'app-7', SESSION_REAUTH_WINDOW_S: '1' });
    try {
      const otherDevice = new TestClient();
      await otherDevice.login(shortWindow, 'alice');
      await open(shortWindow);
      await logInThroughForm(page, 'alice');
      await page.locator('#revoke-others').waitFor();
      await sleep(1100);

      await page.getByRole('button', { name: 'Log out all my other devices' }).click();
      await page.locator('#reauth-form').waitFor();
      const stillLive = await otherDevice.get(shortWindow, '/api/session');
      await page.locator('#reauth-password').fill('not-alices-password');
      await page.getByRole('button', { name: 'Confirm and log them out' }).click();
      await waitForText(page.locator('#devices-error'), 'wrong password');
      await page.locator('#reauth-password').fill(DEMO_USERS.alice);
      await page.getByRole('button', { name: 'Confirm and log them out' }).click();
      await page.locator('#reauth-form').waitFor({ state: 'hidden' });

      expect(stillLive.status).toBe(200);
      expect((await otherDevice.get(shortWindow, '/api/session')).body.error).toBe('session_revoked');
      expect(await page.locator('#session-panel').isVisible()).toBe(true);
      expect(browser.problems).toEqual([]);
    } finally {
      await shortWindow.close();
    }
  });

  test('when the session is revoked from another device, then the page says plainly that it is gone and where it lived', async () => {
    const { page } = browser;
    await open(app1);
    await logInThroughForm(page, 'bob');
    const handle = (await page.locator('#session-handle').textContent())!;

    const otherDevice = new TestClient();
    await otherDevice.login(app2, 'bob');
    expect((await otherDevice.delete(app2, `/api/sessions/${handle}`)).status).toBe(204);

    await waitForText(page.locator('#session-lost-headline'), 'Your session is gone: it lived in the shared Redis (created by app-1, last served by app-1).');
    await waitForText(page.locator('#session-lost-detail'), 'app-1 answered 401 session_revoked');
    expect(await page.locator('#login-form').isVisible()).toBe(true);
    await browser.screenshot('inprocess-session-revoked');
    expect(browser.problems).toEqual([]);
  });

  test('when an instance keeps its sessions in memory, then the cluster panel and the statistics say they are that instance\'s only', async () => {
    const memory = await startInstance({ INSTANCE_ID: 'sticky-1', SESSION_STORE: 'memory' });
    try {
      const { page } = browser;
      await open(memory);
      await waitForText(page.locator('#cluster-store'), 'memory: this instance only');
      expect(await page.locator('#cluster-redis').isHidden()).toBe(true);

      await logInThroughForm(page, 'alice');
      await waitForText(page.locator('#cluster-sessions'), /^[1-9]\d* on this instance$/);
      await waitForText(page.locator('#stats-scope'), "sticky-1's sessions only");
      await waitForText(page.locator('#stats-active'), '1 / 1');
    } finally {
      await memory.close();
    }
  });

  describe('when Redis goes away', () => {
    let redis: OwnedRedis;
    let instance: TestInstance;

    beforeAll(async () => {
      redis = await startOwnedRedis();
      instance = await startInstance({ INSTANCE_ID: 'app-9', REDIS_URL: redis.url });
    });

    afterAll(async () => {
      await instance?.close();
      await redis?.destroy();
    });

    test('then a banner says Redis cannot be reached, the page keeps running, and the banner goes once Redis is back', async () => {
      const { page } = browser;
      await open(instance);
      await logInThroughForm(page, 'alice');
      await waitForText(page.locator('#redis-aof'), /^(on|off)/);

      await redis.stop();
      await waitForText(page.locator('#banner'), 'Redis cannot be reached from app-9', 15_000);
      await browser.screenshot('inprocess-redis-unavailable');
      expect(await page.locator('#banner').isVisible()).toBe(true);

      await redis.start();
      await page.locator('#banner').waitFor({ state: 'hidden', timeout: 30_000 });
      expect(browser.problems).toEqual([]);
    }, 90_000);
  });

  describe('when Redis goes away under REDIS_DOWN_POLICY=read-only', () => {
    let redis: OwnedRedis;
    let proxy: Awaited<ReturnType<typeof redisProxy>>;
    let instance: TestInstance;

    beforeAll(async () => {
      redis = await startOwnedRedis();
      // Through a proxy: cut, the store is unreachable while its data stays, as in a network fault.
      proxy = await redisProxy(redis.port);
      instance = await startInstance({ INSTANCE_ID: 'app-8', REDIS_URL: proxy.url, REDIS_DOWN_POLICY: 'read-only' });
    });

    afterAll(async () => {
      await instance?.close();
      await proxy?.close();
      await redis?.destroy();
    });

    test('then the page keeps the session, says it is read-only, refuses a visit, and counts again once Redis is back', async () => {
      const { page } = browser;
      await open(instance);
      await logInThroughForm(page, 'alice');
      await page.getByRole('button', { name: 'Count a visit' }).click();
      await waitForText(page.locator('#visits'), /^1$/);

      await proxy.cut();
      await waitForText(page.locator('#read-only'), 'read-only: the session store is down', 15_000);
      // The visit's own answer, not the banner: another request's 503 may have raised that already, while
      // the visit still waits on its session read and would count if Redis came back within that wait.
      const visit = page.waitForResponse((res) => res.url().endsWith('/api/visits'));
      await page.getByRole('button', { name: 'Count a visit' }).click();
      expect((await visit).status()).toBe(503);
      await waitForText(page.locator('#banner'), 'Redis cannot be reached from app-8', 15_000);
      await browser.screenshot('inprocess-read-only');
      expect(await page.locator('#session-user').textContent()).toContain('alice');
      expect(await shownVisits(page)).toBe(1);

      await proxy.restore();
      await page.locator('#read-only').waitFor({ state: 'hidden', timeout: 30_000 });
      await page.getByRole('button', { name: 'Count a visit' }).click();
      await waitForText(page.locator('#visits'), /^2$/);
      expect(browser.problems).toEqual([]);
    }, 90_000);
  });
});
