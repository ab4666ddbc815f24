import type { Page } from 'playwright-core';
import type { LiveInstancesView } from '../../app/src/http-contract';
import { sleep, waitFor } from '../../toolkit/time';

/* Reading the dashboard's live cluster view (app/web/live.ts) as a test sees it. */

/** How many requests a second the live view's boxes show for these instances together: the median of 5 readings, 1 s apart. */
export async function shownRequestRate(page: Page, instances: string[]): Promise<number> {
  const readings: number[] = [];
  for (let i = 0; i < 5; i++) {
    const texts = await Promise.all(instances.map((id) => page.locator(`#live-instances [data-instance="${id}"]`).textContent()));
    readings.push(texts.reduce((sum, text) => sum + Number(/(\d+) req\/s/.exec(text ?? '')?.[1] ?? 0), 0));
    await sleep(1000);
  }
  return readings.sort((a, b) => a - b)[2]!;
}

/** How long after `since` GET /api/cluster/instances (any instance, through nginx) lists `id` as gone. */
export async function untilListedGone(url: string, id: string, since: number): Promise<number> {
  await waitFor(`${id} listed gone`, async () => {
    const res = await fetch(`${url}/api/cluster/instances`, { signal: AbortSignal.timeout(2000) });
    const view = (await res.json()) as LiveInstancesView;
    return view.instances.find((instance) => instance.id === id)?.state === 'gone';
  }, 10_000, 100);
  return Date.now() - since;
}

/** Waits until an element matching `selector` carries a data-at no earlier than `since` (events of earlier tests stay listed). */
export async function eventShown(page: Page, selector: string, since: number, timeoutMs: number): Promise<void> {
  await waitFor(selector, async () => {
    const times = await page.locator(selector).evaluateAll((items) => items.map((item) => Date.parse(item.getAttribute('data-at') ?? '')));
    return times.some((t) => t >= since - 1000);
  }, timeoutMs, 200);
}

/** The 5xx answers the chart's errors lines add up to over its window (each line's data-total). */
export async function errorsOnChart(page: Page): Promise<number> {
  return page.locator('#live-chart polyline.errors').evaluateAll((lines) => lines.reduce((n, line) => n + Number(line.getAttribute('data-total')), 0));
}
