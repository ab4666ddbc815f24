// The end of every run: the figures that matter per variant, as JSON (summary.json, for the report and
// CI) and as a few lines of text (stdout and summary.txt). k6 only keeps a sub-metric such as
// sc_session_lost{variant:redis} when a threshold names it, so `observed()` names them all; the ones that
// encode a promise get a real condition from thresholds.ts.
import type { Options } from 'k6/options';
import { RESULTS_DIR, type Target } from './config.ts';

type Thresholds = NonNullable<Options['thresholds']>;

/** Trend stats kept in the summary: the report quotes p50, p95 and p99. */
export const SUMMARY_TREND_STATS = ['avg', 'min', 'med', 'p(95)', 'p(99)', 'max'];

/** Always-true thresholds on every sub-metric the summary reads, for each variant. */
export function observed(targets: Target[]): Thresholds {
  const t: Thresholds = {};
  for (const { variant, instances } of targets) {
    t[`http_reqs{variant:${variant}}`] = ['count>=0'];
    t[`http_req_failed{variant:${variant},method:GET}`] = ['rate>=0'];
    t[`http_req_failed{variant:${variant},method:POST}`] = ['rate>=0'];
    t[`http_req_duration{variant:${variant},kind:api}`] = ['p(95)>=0'];
    t[`sc_session_lost{variant:${variant}}`] = ['count>=0'];
    t[`sc_session_lost{variant:${variant},reason:gone}`] = ['count>=0'];
    t[`sc_session_lost{variant:${variant},reason:stale}`] = ['count>=0'];
    t[`sc_continuity{variant:${variant}}`] = ['rate>=0'];
    t[`sc_logins{variant:${variant}}`] = ['count>=0'];
    for (const instance of instances) t[`sc_served_by{variant:${variant},instance:${instance}}`] = ['count>=0'];
  }
  return t;
}

/** Merges threshold sets; conditions on the same metric add up. */
export function thresholds(...sets: Thresholds[]): Thresholds {
  const merged: Thresholds = {};
  for (const set of sets) {
    for (const [metric, conditions] of Object.entries(set)) merged[metric] = [...(merged[metric] ?? []), ...conditions];
  }
  return merged;
}

interface MetricSummary {
  type: string;
  values: Record<string, number>;
  thresholds?: Record<string, { ok: boolean }>;
}

interface SummaryData {
  metrics: Record<string, MetricSummary>;
  state: { testRunDurationMs: number };
}

export interface VariantFigures {
  requests: number;
  failed: { GET: number; POST: number; GETRate: number; POSTRate: number };
  sessionsLost: { total: number; gone: number; stale: number };
  continuityRate: number | null;
  logins: number;
  latencyMs: { p50: number; p95: number; p99: number; max: number };
  servedBy: Record<string, number>;
  share: Record<string, number>;
}

const value = (data: SummaryData, metric: string, stat: string): number => data.metrics[metric]?.values[stat] ?? 0;

function figuresFor(data: SummaryData, { variant, instances }: Target): VariantFigures {
  const servedBy: Record<string, number> = {};
  for (const instance of instances) servedBy[instance] = value(data, `sc_served_by{variant:${variant},instance:${instance}}`, 'count');
  const served = Object.values(servedBy).reduce((a, b) => a + b, 0);
  const share: Record<string, number> = {};
  for (const [instance, n] of Object.entries(servedBy)) share[instance] = served ? n / served : 0;
  const get = `http_req_failed{variant:${variant},method:GET}`;
  const post = `http_req_failed{variant:${variant},method:POST}`;
  const latency = `http_req_duration{variant:${variant},kind:api}`;
  const continuity = data.metrics[`sc_continuity{variant:${variant}}`];
  return {
    requests: value(data, `http_reqs{variant:${variant}}`, 'count'),
    // For http_req_failed, a "pass" is a failed request.
    failed: {
      GET: value(data, get, 'passes'),
      POST: value(data, post, 'passes'),
      GETRate: value(data, get, 'rate'),
      POSTRate: value(data, post, 'rate'),
    },
    sessionsLost: {
      total: value(data, `sc_session_lost{variant:${variant}}`, 'count'),
      gone: value(data, `sc_session_lost{variant:${variant},reason:gone}`, 'count'),
      stale: value(data, `sc_session_lost{variant:${variant},reason:stale}`, 'count'),
    },
    continuityRate: (continuity?.values.passes ?? 0) + (continuity?.values.fails ?? 0) > 0 ? (continuity?.values.rate ?? null) : null,
    logins: value(data, `sc_logins{variant:${variant}}`, 'count'),
    latencyMs: {
      p50: value(data, latency, 'med'),
      p95: value(data, latency, 'p(95)'),
      p99: value(data, latency, 'p(99)'),
      max: value(data, latency, 'max'),
    },
    servedBy,
    share,
  };
}

/** Every threshold with a real condition (the observed ones are left out), and whether it held. */
function thresholdResults(data: SummaryData) {
  const results: { metric: string; condition: string; ok: boolean }[] = [];
  for (const [metric, m] of Object.entries(data.metrics)) {
    for (const [condition, { ok }] of Object.entries(m.thresholds ?? {})) {
      if (!/>=0$/.test(condition)) results.push({ metric, condition, ok });
    }
  }
  return results.sort((a, b) => a.metric.localeCompare(b.metric));
}

const pct = (x: number) => `${(x * 100).toFixed(x && x < 0.001 ? 3 : 1)}%`;
const ms = (x: number) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));

function text(script: string, durationS: number, figures: Record<string, VariantFigures>, results: ReturnType<typeof thresholdResults>): string {
  const lines = [`${script}: ${durationS.toFixed(0)} s`];
  for (const [variant, f] of Object.entries(figures)) {
    const share = Object.entries(f.share).map(([i, s]) => `${i} ${pct(s)}`).join(', ');
    lines.push(
      `  ${variant.padEnd(6)} ${f.requests} requests, failed GET ${f.failed.GET} (${pct(f.failed.GETRate)}) POST ${f.failed.POST} (${pct(f.failed.POSTRate)}); ` +
        `sessions lost ${f.sessionsLost.total} (gone ${f.sessionsLost.gone}, stale ${f.sessionsLost.stale}); ` +
        `p50/p95/p99 ${ms(f.latencyMs.p50)}/${ms(f.latencyMs.p95)}/${ms(f.latencyMs.p99)} ms; served by ${share}`,
    );
  }
  const failed = results.filter((r) => !r.ok);
  lines.push(`  thresholds: ${results.length - failed.length} passed, ${failed.length} failed`);
  for (const r of results) lines.push(`    ${r.ok ? 'ok  ' : 'FAIL'} ${r.metric} ${r.condition}`);
  return `${lines.join('\n')}\n`;
}

/** Builds a script's handleSummary: summary.json + summary.txt in RESULTS_DIR, the text on stdout too. */
export function summaryHandler(script: string, targets: Target[], extra: Record<string, unknown> = {}) {
  return (data: SummaryData): Record<string, string> => {
    const durationS = data.state.testRunDurationMs / 1000;
    const figures: Record<string, VariantFigures> = {};
    for (const target of targets) figures[target.variant] = figuresFor(data, target);
    const results = thresholdResults(data);
    const summary = text(script, durationS, figures, results);
    const json = { script, finishedAt: new Date().toISOString(), durationS, ...extra, figures, thresholds: results, k6: data };
    return {
      stdout: summary,
      [`${RESULTS_DIR}/summary.txt`]: summary,
      [`${RESULTS_DIR}/summary.json`]: JSON.stringify(json, null, 2),
    };
  };
}
