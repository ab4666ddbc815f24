import type { Exchange } from './api.js';

/** Instances not heard from for this long are shown as gone quiet. */
export const RECENT_MS = 15_000;
const PALETTE_SIZE = 8;

/** A stable colour per instance: app-N and sticky-N take colour N, other names a hash. */
export function colorIndex(instance: string): number {
  const numbered = /(\d+)$/.exec(instance);
  if (numbered) return (Number(numbered[1]) + PALETTE_SIZE - 1) % PALETTE_SIZE;
  let hash = 0;
  for (const char of instance) hash = (hash * 31 + char.charCodeAt(0)) >>> 0;
  return hash % PALETTE_SIZE;
}

/** The short mark inside a strip cell: the instance's number, so colour is never the only cue. */
function shortLabel(instance: string | null): string {
  if (!instance) return '×';
  return /(\d+)$/.exec(instance)?.[1] ?? instance.charAt(0);
}

export function swatch(instance: string | null): HTMLSpanElement {
  const mark = document.createElement('span');
  mark.className = 'swatch';
  mark.dataset.color = instance ? String(colorIndex(instance)) : 'none';
  mark.setAttribute('aria-hidden', 'true');
  mark.textContent = shortLabel(instance);
  return mark;
}

const seconds = (ms: number) => `${Math.max(0, Math.round(ms / 1000))} s`;

/**
 * The rolling strip of recent requests, one cell per request coloured by the instance that served it,
 * and its legend (instance, share of the strip, last heard from).
 */
export class RequestStrip {
  private readonly recent: Exchange[] = [];
  private readonly lastSeen = new Map<string, number>();

  constructor(
    private readonly list: HTMLOListElement,
    private readonly legend: HTMLUListElement,
    private readonly size = 60,
  ) {}

  add(exchange: Exchange): void {
    this.recent.push(exchange);
    if (exchange.servedBy) this.lastSeen.set(exchange.servedBy, exchange.at);
    const cell = swatch(exchange.servedBy);
    const item = document.createElement('li');
    item.dataset.instance = exchange.servedBy ?? 'none';
    item.dataset.color = cell.dataset.color;
    item.title = `${exchange.method} ${exchange.path} → ${exchange.servedBy ?? 'no instance'} (${exchange.status || 'no answer'})`;
    item.append(cell);
    this.list.append(item);
    while (this.recent.length > this.size) {
      this.recent.shift();
      this.list.firstElementChild?.remove();
    }
    this.renderLegend();
  }

  /** Every instance that ever answered this page, by name, with when it last did. */
  instances(): Array<{ id: string; lastSeen: number }> {
    return [...this.lastSeen].map(([id, lastSeen]) => ({ id, lastSeen })).sort((a, b) => a.id.localeCompare(b.id));
  }

  renderLegend(now = Date.now()): void {
    const counts = new Map<string, number>();
    for (const e of this.recent) if (e.servedBy) counts.set(e.servedBy, (counts.get(e.servedBy) ?? 0) + 1);
    const unanswered = this.recent.filter((e) => !e.servedBy).length;
    const items = this.instances().map(({ id, lastSeen }) => {
      const item = document.createElement('li');
      item.dataset.instance = id;
      const quiet = now - lastSeen > RECENT_MS;
      item.classList.toggle('quiet', quiet);
      const share = `${counts.get(id) ?? 0} of the last ${this.recent.length}`;
      item.append(swatch(id), ` ${id}: ${share}, ${quiet ? `silent for ${seconds(now - lastSeen)}` : `last ${seconds(now - lastSeen)} ago`}`);
      return item;
    });
    if (unanswered > 0) {
      const item = document.createElement('li');
      item.dataset.instance = 'none';
      item.append(swatch(null), ` no answer: ${unanswered} of the last ${this.recent.length}`);
      items.push(item);
    }
    this.legend.replaceChildren(...items);
  }
}
