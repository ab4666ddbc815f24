// Turns a 04.compare run folder into a report people look at: a table per variant (sessions lost, failed
// requests, p50/p95/p99, per-instance share) and an SVG chart over time (requests/s, session losses and
// failed requests per variant, the chaos driver's fault moments marked), plus the same figures as JSON.
//
//   npx tsx loadtest/tools/compare-report.ts .artifacts/loadtest/<run> --out docs/reports/compare-2026-11-23
//
// Reads the run's metrics.csv.gz (every k6 sample; K6_CSV_TIME_FORMAT=unix_milli), faults.jsonl, run.json
// and summary.json (threshold results). Everything is computed from the samples themselves, so the table
// and the chart cannot disagree. Writes <out>.md, <out>.svg and <out>.json.
import { readFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { machineSection, type RunFacts } from './run-facts.ts';
import type { Variant } from '../lib/variants.ts';
import { esc, legend, niceScale, svgDocument, yGrid } from './svg-chart.ts';

const { values: args, positionals } = parseArgs({ allowPositionals: true, options: { out: { type: 'string' } } });
const runDir = positionals[0];
if (!runDir || !args.out) {
  console.error('usage: compare-report.ts RUN_DIR --out PATH_PREFIX   (writes PATH_PREFIX.md, .svg, .json)');
  process.exit(2);
}
const out = args.out;

/** The comparison run (04.compare.ts) drives these two side by side. */
type Compared = Exclude<Variant, 'cluster'>;
const VARIANTS: Compared[] = ['redis', 'sticky'];
const LABEL: Record<Compared, string> = { redis: 'Redis (shared store, round robin)', sticky: 'sticky (memory store, pinned)' };
const COLOR: Record<Compared, string> = { redis: '#c92a2a', sticky: '#1971c2' };

interface Sample {
  metric: string;
  t: number;
  value: number;
  method: string;
  status: string;
  tags: Record<string, string>;
}

interface Fault {
  event: 'start' | 'fault' | 'end' | 'cleanup';
  t: number;
  action?: string;
  services?: string[];
  planned?: number;
  offsetS?: number;
  tookMs?: number;
  ok?: boolean;
  error?: string;
}

/** k6's CSV output: a header row naming the columns; custom tags packed as a=b&c=d in extra_tags. */
function readSamples(file: string): Sample[] {
  const lines = gunzipSync(readFileSync(file)).toString('utf8').split('\n');
  const header = lines[0]!.split(',');
  const col = (name: string) => header.indexOf(name);
  const [iMetric, iTime, iValue, iMethod, iStatus, iScenario, iExtra] = [
    col('metric_name'), col('timestamp'), col('metric_value'), col('method'), col('status'), col('scenario'), col('extra_tags'),
  ];
  const wanted = new Set(['http_reqs', 'http_req_failed', 'http_req_duration', 'sc_session_lost', 'sc_served_by', 'sc_logins']);
  const samples: Sample[] = [];
  for (const line of lines.slice(1)) {
    if (!line) continue;
    const cells = line.split(',');
    const metric = cells[iMetric]!;
    if (!wanted.has(metric)) continue;
    const tags: Record<string, string> = { scenario: cells[iScenario] ?? '' };
    for (const pair of (cells[iExtra] ?? '').split('&')) {
      const eq = pair.indexOf('=');
      if (eq > 0) tags[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
    samples.push({ metric, t: Number(cells[iTime]), value: Number(cells[iValue]), method: cells[iMethod] ?? '', status: cells[iStatus] ?? '', tags });
  }
  return samples;
}

const readJson = <T>(file: string): T | null => (existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as T) : null);
const readJsonLines = <T>(file: string): T[] =>
  existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as T) : [];

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (rank - lo);
}

const samples = readSamples(path.join(runDir, 'metrics.csv.gz'));
const faults = readJsonLines<Fault>(path.join(runDir, 'faults.jsonl'));
const runInfo = readJson<Record<string, unknown>>(path.join(runDir, 'run.json'));
const summary = readJson<{ thresholds: { metric: string; condition: string; ok: boolean }[]; chaos?: string; durationS: number }>(
  path.join(runDir, 'summary.json'),
);

const ofVariant = (v: Compared) => samples.filter((s) => s.tags.variant === v);
const t0 = faults.find((f) => f.event === 'start')?.t ?? Math.min(...samples.filter((s) => s.tags.variant).map((s) => s.t));
const tEnd = Math.max(...samples.map((s) => s.t));
const seconds = Math.ceil((tEnd - t0) / 1000);

interface Figures {
  requests: number;
  failed: { total: number; GET: number; POST: number; rate: number; byStatus: Record<string, number> };
  sessionsLost: { total: number; gone: number; stale: number };
  logins: { first: number; again: number };
  latencyMs: { p50: number; p95: number; p99: number; max: number };
  servedBy: Record<string, number>;
  share: Record<string, number>;
  series: { requests: number[]; failed: number[]; sessionsLost: number[] };
}

function figures(v: Compared): Figures {
  const mine = ofVariant(v);
  const bin = () => new Array<number>(seconds + 1).fill(0);
  const series = { requests: bin(), failed: bin(), sessionsLost: bin() };
  const at = (t: number) => Math.min(seconds, Math.max(0, Math.floor((t - t0) / 1000)));
  const f: Figures = {
    requests: 0,
    failed: { total: 0, GET: 0, POST: 0, rate: 0, byStatus: {} },
    sessionsLost: { total: 0, gone: 0, stale: 0 },
    logins: { first: 0, again: 0 },
    latencyMs: { p50: 0, p95: 0, p99: 0, max: 0 },
    servedBy: {},
    share: {},
    series,
  };
  const durations: number[] = [];
  for (const s of mine) {
    switch (s.metric) {
      case 'http_reqs':
        f.requests += 1;
        series.requests[at(s.t)]! += 1;
        break;
      case 'http_req_failed':
        if (s.value === 1) {
          f.failed.total += 1;
          if (s.method === 'GET' || s.method === 'POST') f.failed[s.method] += 1;
          const status = s.status === '0' || s.status === '' ? 'no answer' : s.status;
          f.failed.byStatus[status] = (f.failed.byStatus[status] ?? 0) + 1;
          series.failed[at(s.t)]! += 1;
        }
        break;
      case 'http_req_duration':
        if (s.tags.kind === 'api') durations.push(s.value);
        break;
      case 'sc_session_lost':
        f.sessionsLost.total += s.value;
        if (s.tags.reason === 'gone' || s.tags.reason === 'stale') f.sessionsLost[s.tags.reason] += s.value;
        series.sessionsLost[at(s.t)]! += s.value;
        break;
      case 'sc_served_by':
        f.servedBy[s.tags.instance!] = (f.servedBy[s.tags.instance!] ?? 0) + 1;
        break;
      case 'sc_logins':
        if (s.tags.kind === 'first' || s.tags.kind === 'again') f.logins[s.tags.kind] += 1;
        break;
    }
  }
  f.failed.rate = f.requests ? f.failed.total / f.requests : 0;
  durations.sort((a, b) => a - b);
  f.latencyMs = { p50: percentile(durations, 50), p95: percentile(durations, 95), p99: percentile(durations, 99), max: durations.at(-1) ?? 0 };
  const served = Object.values(f.servedBy).reduce((a, b) => a + b, 0);
  for (const [instance, n] of Object.entries(f.servedBy).sort()) f.share[instance] = served ? n / served : 0;
  return f;
}

const byVariant: Record<Compared, Figures> = Object.fromEntries(VARIANTS.map((v) => [v, figures(v)])) as Record<Compared, Figures>;
const faultMoments = faults
  .filter((f) => f.event === 'fault' || f.event === 'cleanup')
  .map((f) => ({ offsetS: (f.t - t0) / 1000, action: f.action ?? '', services: f.services ?? [], ok: f.ok !== false, tookMs: f.tookMs ?? 0, planned: f.planned }));

// ---- chart ---------------------------------------------------------------------------------------------

const W = 960;
const M = { left: 64, right: 24 };
const PANEL_H = 150;
const GAP = 44;
const TOP = 92;
const plotW = W - M.left - M.right;
const x = (s: number) => M.left + (s / Math.max(1, seconds)) * plotW;
const cumulative = (series: number[]) => {
  let sum = 0;
  return series.map((n) => (sum += n));
};

function panel(index: number, title: string, key: keyof Figures['series'], style: 'line' | 'bars' | 'cumulative'): string {
  const y0 = TOP + index * (PANEL_H + GAP);
  const seriesOf = (v: Compared) => (style === 'cumulative' ? cumulative(byVariant[v].series[key]) : byVariant[v].series[key]);
  const max = Math.max(...VARIANTS.flatMap(seriesOf));
  const { top, step } = niceScale(max);
  const y = (value: number) => y0 + PANEL_H - (value / top) * PANEL_H;
  const parts = [`<text x="${M.left}" y="${y0 - 10}" class="title">${esc(title)}</text>`, ...yGrid(M.left, W - M.right, top, step, y)];
  const barW = Math.max(1, plotW / Math.max(1, seconds) / 2 - 0.5);
  VARIANTS.forEach((variant, i) => {
    const series = seriesOf(variant);
    if (style === 'line') {
      const points = series.slice(0, seconds).map((value, s) => `${x(s + 0.5).toFixed(1)},${y(value).toFixed(1)}`);
      parts.push(`<polyline points="${points.join(' ')}" fill="none" stroke="${COLOR[variant]}" stroke-width="1.6"/>`);
    } else if (style === 'cumulative') {
      // A step line: the total so far at the end of each second; the Redis line lying on 0 is the point.
      const points = [`${x(0)},${y(0)}`, ...series.slice(0, seconds).flatMap((value, s) => [`${x(s).toFixed(1)},${y(value).toFixed(1)}`, `${x(s + 1).toFixed(1)},${y(value).toFixed(1)}`])];
      parts.push(`<polyline points="${points.join(' ')}" fill="none" stroke="${COLOR[variant]}" stroke-width="${2.4 - i * 0.6}"/>`);
    } else {
      series.forEach((value, s) => {
        if (value > 0) {
          parts.push(
            `<rect x="${(x(s) + i * barW).toFixed(1)}" y="${y(value).toFixed(1)}" width="${barW.toFixed(1)}" height="${(y0 + PANEL_H - y(value)).toFixed(1)}" fill="${COLOR[variant]}"><title>${variant}, ${s}–${s + 1} s: ${value}</title></rect>`,
          );
        }
      });
    }
  });
  parts.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${y0 + PANEL_H}" y2="${y0 + PANEL_H}" class="axis"/>`);
  for (let s = 0; s <= seconds; s += 10) {
    parts.push(`<text x="${x(s)}" y="${y0 + PANEL_H + 16}" class="tick" text-anchor="middle">${s}</text>`);
  }
  return parts.join('\n');
}

function chart(): string {
  const height = TOP + 3 * (PANEL_H + GAP) + 20;
  const bottom = TOP + 3 * (PANEL_H + GAP) - GAP;
  const marks = faultMoments
    .map((f, i) => {
      const label = `${f.action} ${f.services.join(' + ')}`;
      const lx = x(f.offsetS);
      return [
        `<line x1="${lx}" x2="${lx}" y1="${TOP - 24}" y2="${bottom}" class="fault"/>`,
        `<text x="${lx + 4}" y="${TOP - 28 + (i % 2) * 12}" class="fault-label">${esc(label)} (${f.offsetS.toFixed(1)} s)</text>`,
      ].join('\n');
    })
    .join('\n');
  const keys = legend(VARIANTS.map((v) => ({ label: LABEL[v], color: COLOR[v] })), M.left, 40, 300);
  const heading = `Redis vs sticky under chaos — seconds since the load started (${summary?.chaos ?? 'compare'} schedule)`;
  const body = [
    keys,
    marks,
    panel(0, 'requests / s', 'requests', 'line'),
    panel(1, 'sessions lost, total so far', 'sessionsLost', 'cumulative'),
    panel(2, 'failed requests / s', 'failed', 'bars'),
  ].join('\n');
  return svgDocument(W, height, M.left, heading, body);
}

// ---- table ---------------------------------------------------------------------------------------------

const pct = (x: number, digits = 1) => `${(x * 100).toFixed(digits)} %`;
const ms = (x: number) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));

function markdown(svgName: string): string {
  const r = byVariant.redis;
  const s = byVariant.sticky;
  const cell = (f: Figures, pick: (f: Figures) => string) => pick(f);
  const row = (label: string, pick: (f: Figures) => string) => `| ${label} | ${cell(r, pick)} | ${cell(s, pick)} |`;
  const failed = (f: Figures) =>
    `${f.failed.total} of ${f.requests} (${pct(f.failed.rate, 2)}): GET ${f.failed.GET}, POST ${f.failed.POST}` +
    (f.failed.total ? ` — ${Object.entries(f.failed.byStatus).map(([k, n]) => `${k}: ${n}`).join(', ')}` : '');
  const share = (f: Figures) => Object.entries(f.share).map(([i, x]) => `${i} ${pct(x, 0)}`).join(', ');
  const info = runInfo as RunFacts | null;
  const lines = [
    `# Redis vs sticky sessions under chaos — ${info?.startedAt?.slice(0, 10) ?? ''}`,
    '',
    `One k6 run (\`loadtest/04.compare.ts\`, chaos schedule \`${summary?.chaos ?? '?'}\`, ${seconds} s): the same workload against`,
    'both variants at once — each iteration a `GET /api/session` and a `POST /api/visits` whose counter must be the',
    'previous + 1 — while the chaos driver took down one instance of each variant at the same moment.',
    '',
    `| | ${LABEL.redis} | ${LABEL.sticky} |`,
    '|---|---|---|',
    row('**sessions lost**', (f) => `**${f.sessionsLost.total}** (gone ${f.sessionsLost.gone}, stale ${f.sessionsLost.stale})`),
    row('failed requests', failed),
    row('latency p50 / p95 / p99', (f) => `${ms(f.latencyMs.p50)} / ${ms(f.latencyMs.p95)} / ${ms(f.latencyMs.p99)} ms`),
    row('served by', share),
    row('logins (first / after a lost session)', (f) => `${f.logins.first} / ${f.logins.again}`),
    '',
    `![requests/s, sessions lost and failed requests per second for both variants, fault moments marked](${svgName})`,
    '',
    '**Faults** (seconds after the scenarios started; the moment the docker call returned):',
    '',
    '| at | action | containers | took |',
    '|---|---|---|---|',
    ...faultMoments.map((f) => `| ${f.offsetS.toFixed(1)} s | ${f.action}${f.ok ? '' : ' (FAILED)'} | ${f.services.join(', ')} | ${f.tookMs} ms |`),
    '',
  ];
  if (summary?.thresholds?.length) {
    lines.push('**Thresholds** (the promises and the latency bounds, `loadtest/lib/thresholds.ts`):', '');
    for (const t of summary.thresholds) lines.push(`- ${t.ok ? '✓' : '✗'} \`${t.metric}\` \`${t.condition}\``);
    lines.push('');
  }
  lines.push(...machineSection(info, { onMachine: 'the whole stack, k6 and the driver on this one machine', loadNote: ': other jobs share these cores', driver: 'driver, report', last: '' }));
  return lines.join('\n');
}

mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
const svgName = `${path.basename(out)}.svg`;
writeFileSync(`${out}.svg`, chart());
writeFileSync(`${out}.md`, markdown(svgName));
writeFileSync(
  `${out}.json`,
  `${JSON.stringify({ run: runInfo, chaos: summary?.chaos ?? null, seconds, faults: faultMoments, thresholds: summary?.thresholds ?? [], variants: byVariant }, null, 1)}\n`,
);
console.error(`[report] ${out}.md, .svg, .json`);
for (const v of VARIANTS) {
  const f = byVariant[v];
  console.error(
    `[report] ${v}: sessions lost ${f.sessionsLost.total}, failed ${f.failed.total}/${f.requests}, p95 ${ms(f.latencyMs.p95)} ms, share ${Object.entries(f.share).map(([i, x]) => `${i} ${pct(x, 0)}`).join(' ')}`,
  );
}
