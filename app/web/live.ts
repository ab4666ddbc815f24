import { WINDOW_MS, drawChart, type ChartMark, type ChartSeries } from './live-chart.js';
import { colorIndex, swatch } from './strip.js';
import type { ClusterEvent, ClusterEventsView, ClusterView, LiveInstance, LiveInstancesView } from './types.js';

const POLL_MS = 1000;
const MAX_BACKOFF_MS = 4000;
const EVENTS_LISTED = 12;

export interface LiveElements {
  section: HTMLElement;
  scope: HTMLElement;
  instances: HTMLUListElement;
  redis: HTMLUListElement;
  chart: SVGSVGElement;
  legend: HTMLElement;
  events: HTMLOListElement;
}

/** GET of a live route, outside the request strip: the strip is about the session's requests. */
async function getJson<T>(path: string): Promise<T | null> {
  try {
    const res = await fetch(path, { headers: { accept: 'application/json' }, cache: 'no-store', signal: AbortSignal.timeout(3000) });
    return res.ok ? ((await res.json()) as T) : null;
  } catch {
    return null;
  }
}

const clock = (iso: string) => new Date(iso).toLocaleTimeString();
const ago = (ms: number) => `${Math.max(0, Math.round(ms / 1000))} s ago`;

/** What an event says, in a few words: the chart's label and the list's line. */
export function describeEvent(event: ClusterEvent): string {
  switch (event.type) {
    case 'up':
      return `${event.instance} up`;
    case 'gone':
      return `${event.instance} gone (${event.reason === 'stopped' ? 'stopped' : 'no heartbeat'})`;
    case 'draining':
      return `${event.instance} draining`;
    case 'primary-changed': {
      const before = new Set((event.from ?? '').split(','));
      const added = (event.to ?? '').split(',').filter((address) => !before.has(address));
      return `Redis primary switched to ${added.join(', ') || event.to} (seen by ${event.instance})`;
    }
    case 'redis-outage':
      return `${event.instance} could not reach Redis, ${clock(event.since!)}–${clock(event.until!)}`;
  }
}

/**
 * The live cluster view: a box per instance and per Redis node, a rolling two-minute chart of each instance's
 * requests/s and errors/s with the events on it, and the events listed. Polls GET /api/cluster/instances and
 * /events once a second; the Redis nodes come from the dashboard's own GET /api/cluster (showCluster).
 */
export class LivePanel {
  private readonly seconds = new Map<string, Map<number, { requests: number; errors: number }>>();
  private view: LiveInstancesView | null = null;
  private events: ClusterEvent[] = [];
  /** The server's clock minus the browser's, so the chart's "now" is the instances' now. */
  private offsetMs = 0;
  private delay = POLL_MS;

  constructor(private readonly ui: LiveElements) {}

  start(): void {
    void this.poll();
  }

  /** The dashboard's reading of GET /api/cluster; null when it failed (Redis unreachable from that instance). */
  showCluster(view: ClusterView | null): void {
    this.ui.redis.replaceChildren(...redisBoxes(view));
  }

  private async poll(): Promise<void> {
    try {
      const [view, events] = await Promise.all([getJson<LiveInstancesView>('/api/cluster/instances'), getJson<ClusterEventsView>('/api/cluster/events')]);
      if (view) this.adopt(view);
      if (events) this.events = events.events;
      this.render();
      this.delay = view ? POLL_MS : Math.min(this.delay * 2, MAX_BACKOFF_MS);
    } finally {
      setTimeout(() => void this.poll(), document.hidden ? Math.max(this.delay, 5000) : this.delay);
    }
  }

  private adopt(view: LiveInstancesView): void {
    this.view = view;
    this.offsetMs = Date.parse(view.now) - Date.now();
    for (const instance of view.instances) {
      if (instance.figures && instance.state !== 'gone') this.note(instance.id, Date.parse(instance.figures.second), instance.figures);
    }
    // The answering instance's own history fills what the heartbeats missed (a Redis outage, a slow poll).
    const { from, requests, errors } = view.history;
    const started = Date.parse(view.instances.find((instance) => instance.id === view.observedBy)?.startedAt ?? from);
    requests.forEach((n, i) => {
      const t = Date.parse(from) + i * 1000;
      if (t + 1000 > started) this.note(view.observedBy, t, { requests: n, errors: errors[i] ?? 0 });
    });
    const oldest = Date.parse(view.now) - WINDOW_MS - 10_000;
    for (const points of this.seconds.values()) for (const t of points.keys()) if (t < oldest) points.delete(t);
  }

  private note(id: string, t: number, figures: { requests: number; errors: number }): void {
    let points = this.seconds.get(id);
    if (!points) this.seconds.set(id, (points = new Map()));
    points.set(t, { requests: figures.requests, errors: figures.errors });
  }

  private render(): void {
    const view = this.view;
    if (!view) return;
    const now = Date.now() + this.offsetMs;
    this.ui.scope.textContent = scopeText(view);
    this.ui.instances.replaceChildren(...view.instances.map((instance) => instanceBox(instance, now)));
    drawChart(this.ui.chart, this.chartSeries(view), marksOf(this.events), now);
    this.ui.legend.replaceChildren(...view.instances.map((instance) => {
      const item = document.createElement('span');
      item.append(swatch(instance.id), ` ${instance.id} `);
      return item;
    }));
    this.ui.events.replaceChildren(...this.events.slice(0, EVENTS_LISTED).map((event) => {
      const item = document.createElement('li');
      item.dataset.type = event.type;
      item.dataset.instance = event.instance;
      item.dataset.at = event.at;
      item.textContent = `${clock(event.at)} ${describeEvent(event)}`;
      return item;
    }));
    if (this.events.length === 0) this.ui.events.replaceChildren(listItem('none recorded yet'));
    this.ui.section.dataset.ready = 'true';
  }

  private chartSeries(view: LiveInstancesView): ChartSeries[] {
    return [...this.seconds].map(([id, byTime]) => {
      const points = [...byTime].sort(([a], [b]) => a - b).map(([t, p]) => ({ t, ...p }));
      // A gone instance's line drops to zero after its last second, rather than stopping in mid-air.
      const gone = view.instances.find((instance) => instance.id === id)?.state === 'gone';
      const last = points.at(-1);
      if (gone && last && (last.requests > 0 || last.errors > 0)) points.push({ t: last.t + 1000, requests: 0, errors: 0 });
      return { id, color: colorIndex(id), points };
    });
  }
}

function scopeText(view: LiveInstancesView): string {
  if (!view.shared) {
    return `No shared store here (the sticky variant): ${view.observedBy} can show only itself. Each sticky instance keeps its own figures and events; this browser is pinned to this one.`;
  }
  const stale = view.stale ? ' Redis cannot be read right now: the other instances are shown as last read.' : '';
  return `Every instance's heartbeat, read from the shared Redis by whichever instance answers (this time ${view.observedBy}), once a second.${stale}`;
}

/** The events as the chart marks them; the outages the instances saw at about the same time make one band. */
function marksOf(events: ClusterEvent[]): ChartMark[] {
  const marks: ChartMark[] = [];
  const outages: Array<ChartMark & { instances: string[] }> = [];
  for (const event of [...events].reverse()) {
    if (event.type !== 'redis-outage') {
      marks.push({ t: Date.parse(event.at), type: event.type, label: event.type === 'primary-changed' ? 'primary switch' : `${event.instance} ${event.type}` });
      continue;
    }
    const [since, until] = [Date.parse(event.since!), Date.parse(event.until!)];
    const overlapping = outages.find((band) => since <= band.until! + 1000 && until >= band.t - 1000);
    if (overlapping) {
      [overlapping.t, overlapping.until] = [Math.min(overlapping.t, since), Math.max(overlapping.until!, until)];
      overlapping.instances.push(event.instance);
    } else {
      outages.push({ t: since, until, type: event.type, label: '', instances: [event.instance] });
    }
  }
  for (const band of outages) band.label = `no Redis (${band.instances.sort().join(', ')})`;
  return [...marks, ...outages.map(({ instances: _instances, ...band }) => band)];
}

function listItem(text: string): HTMLLIElement {
  const item = document.createElement('li');
  item.textContent = text;
  return item;
}

function box(kind: string, title: Array<Node | string>, lines: string[], state: string): HTMLLIElement {
  const item = document.createElement('li');
  item.className = 'live-box';
  item.dataset.kind = kind;
  item.dataset.state = state;
  const head = document.createElement('strong');
  head.append(...title);
  const badge = document.createElement('span');
  badge.className = 'badge';
  badge.textContent = state;
  item.append(head, ' ', badge, ...lines.map((line) => {
    const row = document.createElement('span');
    row.textContent = line;
    return row;
  }));
  return item;
}

function instanceBox(instance: LiveInstance, now: number): HTMLLIElement {
  const f = instance.figures;
  const lines = instance.state === 'gone'
    ? [`last heartbeat ${ago(now - Date.parse(instance.lastSeen))}`]
    : [
        f ? `${f.requests} req/s · ${f.errors} err/s · p95 ${f.p95Ms === null ? '–' : `${f.p95Ms} ms`}` : 'no figures yet',
        instance.redis ? `Redis: ${instance.redis.reachable ? (instance.redis.role ?? 'connected') : 'unreachable'} ${instance.redis.primaries.join(', ')}` : 'no Redis (sessions in memory)',
        `${instance.ready ? 'ready' : 'not ready'} · beat ${ago(now - Date.parse(instance.lastSeen))}`,
      ];
  const item = box('instance', [swatch(instance.id), ` ${instance.id}`], lines, instance.state);
  item.dataset.instance = instance.id;
  return item;
}

function redisBoxes(view: ClusterView | null): HTMLLIElement[] {
  if (!view) return [box('redis', ['Redis'], ['the instance asked could not reach it (503)'], 'unreachable')];
  if (view.redisCluster) {
    return view.redisCluster.shards.flatMap((shard) => [
      box('redis', [shard.primary ?? 'no primary'], [`slots ${shard.slots.map(([a, b]) => `${a}–${b}`).join(', ')}`], 'primary'),
      ...shard.replicas.map((r) => box('redis', [r.address], [`replica of ${shard.primary ?? '?'}`], r.health)),
    ]);
  }
  const redis = view.redis;
  if (!redis) return [box('redis', ['no Redis'], ['this variant keeps sessions in each instance\'s memory'], 'none')];
  const sentinel = view.sentinel?.primary ? [`Sentinel's primary: ${view.sentinel.primary}`] : [];
  return [
    box('redis', [redis.connectedTo ?? 'Redis'], [`the node ${view.instance} uses`, ...sentinel], redis.role),
    ...redis.replicas.map((r) => box('redis', [r.address], [`${Math.max(0, redis.replicationOffset - r.offset)} bytes behind`], `replica ${r.state}`)),
  ];
}
