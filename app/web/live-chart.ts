/** The live view's chart: requests/s and errors/s per instance over a rolling window, events marked on it. SVG by hand. */

export const WINDOW_MS = 120_000;

export interface ChartSeries {
  id: string;
  color: number;
  /** One point per second (its start, epoch ms), oldest first. */
  points: Array<{ t: number; requests: number; errors: number }>;
}

/** An event: a line at `t`, or (with `until`) a band from `t` to `until`. */
export interface ChartMark {
  t: number;
  until?: number;
  type: string;
  label: string;
}

const SVG = 'http://www.w3.org/2000/svg';
const [WIDTH, HEIGHT] = [720, 240];
const PLOT = { left: 40, right: WIDTH - 8, top: 28, bottom: HEIGHT - 22 };

function el<K extends keyof SVGElementTagNameMap>(name: K, attrs: Record<string, string | number>, text?: string): SVGElementTagNameMap[K] {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

/** 1, 2 or 5 times a power of ten, at least `value` (and at least 5). */
function niceCeiling(value: number): number {
  const target = Math.max(5, value);
  const power = 10 ** Math.floor(Math.log10(target));
  return [1, 2, 5, 10].map((m) => m * power).find((n) => n >= target)!;
}

/** Redraws the whole chart; `now` is the server's clock, so every instance's seconds line up. */
export function drawChart(svg: SVGSVGElement, series: ChartSeries[], marks: ChartMark[], now: number): void {
  const from = now - WINDOW_MS;
  const x = (t: number) => PLOT.left + ((Math.min(Math.max(t, from), now) - from) / WINDOW_MS) * (PLOT.right - PLOT.left);
  const visible = series.map((s) => ({ ...s, points: s.points.filter((p) => p.t >= from - 1000) }));
  const max = niceCeiling(Math.max(0, ...visible.flatMap((s) => s.points.map((p) => p.requests))));
  const y = (v: number) => PLOT.bottom - (v / max) * (PLOT.bottom - PLOT.top);
  const title = svg.querySelector('title');
  const shown = marks.filter((m) => (m.until ?? m.t) >= from);
  const rows = labelRows(shown, x);
  svg.replaceChildren(...(title ? [title] : []), ...axes(max, y), ...shown.map((m, i) => markOf(m, rows[i]!, x)));
  for (const s of visible) {
    for (const kind of ['requests', 'errors'] as const) {
      if (s.points.length === 0) continue;
      const points = s.points.map((p) => `${x(p.t + 500).toFixed(1)},${y(p[kind]).toFixed(1)}`).join(' ');
      // data-total: the line's sum over the window, for a reader (or a test) that wants the figure, not the pixels.
      const sum = s.points.filter((p) => p.t >= from).reduce((n, p) => n + p[kind], 0);
      svg.append(el('polyline', { class: `line ${kind}`, 'data-color': s.color, 'data-instance': s.id, 'data-total': sum, points }));
    }
  }
}

function axes(max: number, y: (v: number) => number): SVGElement[] {
  const out: SVGElement[] = [];
  for (const v of [0, max / 2, max]) {
    out.push(el('line', { class: 'grid', x1: PLOT.left, x2: PLOT.right, y1: y(v), y2: y(v) }));
    out.push(el('text', { class: 'axis', x: PLOT.left - 4, y: y(v) + 4, 'text-anchor': 'end' }, String(v)));
  }
  const labels: Array<[number, string, string]> = [[PLOT.left, '−2 min', 'start'], [(PLOT.left + PLOT.right) / 2, '−1 min', 'middle'], [PLOT.right, 'now', 'end']];
  for (const [at, text, anchor] of labels) out.push(el('text', { class: 'axis', x: at, y: HEIGHT - 6, 'text-anchor': anchor }, text));
  out.push(el('text', { class: 'axis', x: PLOT.left, y: 12 }, 'per second: requests (solid), 5xx errors (dashed)'));
  return out;
}

const LABEL_ROWS = 4;
const CHAR_PX = 5.6;
// Which marks get a label first when there is not room for all: what went wrong before what came back.
const PRIORITY: Record<string, number> = { 'primary-changed': 0, gone: 1, 'redis-outage': 2, draining: 3, up: 4 };

/** Where each label goes: the label's extent on the first of LABEL_ROWS rows it does not overlap; null: no room (the mark keeps its tooltip). */
function labelRows(marks: ChartMark[], x: (t: number) => number): Array<number | null> {
  const taken: Array<Array<[number, number]>> = Array.from({ length: LABEL_ROWS }, () => []);
  const rows: Array<number | null> = marks.map(() => null);
  const order = marks.map((_, i) => i).sort((a, b) => (PRIORITY[marks[a]!.type] ?? 9) - (PRIORITY[marks[b]!.type] ?? 9) || marks[b]!.t - marks[a]!.t);
  for (const i of order) {
    const [from, to] = labelExtent(marks[i]!, x);
    const row = taken.findIndex((spans) => spans.every(([a, b]) => to < a || from > b));
    if (row === -1) continue;
    taken[row]!.push([from, to]);
    rows[i] = row;
  }
  return rows;
}

function labelExtent(mark: ChartMark, x: (t: number) => number): [number, number] {
  const at = x(mark.t);
  const width = mark.label.length * CHAR_PX + 6;
  return at > PLOT.right - width ? [at - width, at] : [at, at + width];
}

function markOf(mark: ChartMark, row: number | null, x: (t: number) => number): SVGElement {
  const group = el('g', { class: 'marker', 'data-type': mark.type, 'data-at': new Date(mark.t).toISOString() });
  const at = x(mark.t);
  if (mark.until !== undefined) {
    group.append(el('rect', { class: 'band', x: at, y: PLOT.top, width: Math.max(2, x(mark.until) - at), height: PLOT.bottom - PLOT.top }));
  } else {
    group.append(el('line', { class: 'rule', x1: at, x2: at, y1: PLOT.top - 4, y2: PLOT.bottom }));
  }
  if (row !== null) {
    const [from, to] = labelExtent(mark, x);
    const anchor = from < at ? 'end' : 'start';
    group.append(el('text', { class: 'mark-label', x: anchor === 'end' ? to - 3 : from + 3, y: PLOT.top + 8 + row * 11, 'text-anchor': anchor }, mark.label));
  }
  group.append(el('title', {}, mark.label));
  return group;
}
