import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { sleep } from '../../toolkit/time';

/** Debian's chromium; never a browser downloaded by Playwright. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
export const SCREENSHOTS = path.resolve(__dirname, '../../.artifacts/screenshots');

/** One browser with a fresh profile: its own cookies and storage, like a separate device. */
export interface TestBrowser {
  page: Page;
  context: BrowserContext;
  /** Uncaught page errors and CSP violations seen so far. */
  problems: string[];
  screenshot(name: string): Promise<string>;
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<TestBrowser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`no Chromium at ${CHROMIUM_PATH}: apt-get install -y chromium (or set CHROMIUM_PATH)`);
  }
  const userDataDir = mkdtempSync(path.join(os.tmpdir(), 'sc-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: ARGS,
    viewport: { width: 1280, height: 900 },
    timeout: 30_000,
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error' && /Content Security Policy|Refused to/i.test(message.text())) problems.push(`console: ${message.text()}`);
  });
  return {
    page,
    context,
    problems,
    screenshot: async (name) => {
      mkdirSync(SCREENSHOTS, { recursive: true });
      const file = path.join(SCREENSHOTS, `${name}.png`);
      await page.screenshot({ path: file, fullPage: true, animations: 'disabled' });
      return file;
    },
    close: async () => {
      await context.close().catch(() => undefined);
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

/** Waits until the element's text matches; on timeout, fails with the text it last had. */
export async function waitForText(locator: Locator, expected: string | RegExp, timeoutMs = 10_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    last = ((await locator.textContent({ timeout: 1000 }).catch(() => null)) ?? '').trim();
    if (typeof expected === 'string' ? last.includes(expected) : expected.test(last)) return last;
    if (Date.now() > deadline) throw new Error(`${String(locator)}: expected ${String(expected)} within ${timeoutMs} ms, last text: ${JSON.stringify(last)}`);
    await sleep(100);
  }
}

/** The instances the strip shows, in its order (oldest first). */
export async function stripInstances(page: Page): Promise<string[]> {
  return page.locator('#strip li').evaluateAll((items) => items.map((item) => item.getAttribute('data-instance') ?? ''));
}

/** Logs in through the form, as a person would: a demo-user hint fills it, then "Log in". */
export async function logInThroughForm(page: Page, username: 'alice' | 'bob' | 'carol'): Promise<void> {
  await page.locator(`button[data-username="${username}"]`).click();
  await page.getByRole('button', { name: 'Log in' }).click();
  await waitForText(page.locator('#session-user'), `(${username})`);
}

/** The visits counter as the page shows it. */
export async function shownVisits(page: Page): Promise<number> {
  return Number(await page.locator('#visits').textContent());
}
