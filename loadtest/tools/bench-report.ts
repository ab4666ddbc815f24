// The benchmark's figures (tools/bench-run.ts) as a report people read: the results table, the goals, the
// scaling figure, each ramp's steps, the machine — <out>.md — and a chart — <out>.svg: p95 per step against
// the offered rate, the sustainable rates, CPU-seconds per 1000 requests by component.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { machineSection, type RunFacts } from './run-facts.ts';
import { esc, legend, niceScale, svgDocument, yGrid } from './svg-chart.ts';
import type { BenchResults, RampResult, RampRound, RampStep, SteadyResult } from './bench/types.ts';

const LABEL: Record<string, string> = {
  baseline: 'no-session baseline',
  sticky: 'sticky (memory store)',
  redis: 'Redis (shared store, Sentinel)',
  cluster: 'Redis Cluster (shared store, 3 shards)',
  'redis-2-apps': 'Redis, 2 apps',
  'redis-1-app': 'Redis, 1 app',
};
const COLOR: Record<string, string> = {
  baseline: '#868e96',
  sticky: '#1971c2',
  redis: '#c92a2a',
  cluster: '#862e9c',
  'redis-2-apps': '#e8590c',
  'redis-1-app': '#f59f00',
};
/** The equal-load phases the CPU chart draws, in its order. */
const VARIANTS = ['sticky', 'redis', 'cluster', 'baseline'];
const PART_COLOR = { nginx: '#74c0fc', apps: '#4263eb', redis: '#c92a2a' };

const ms = (x: number) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));
const pct = (x: number, digits = 1) => `${(x * 100).toFixed(digits)} %`;
const mark = (ok: boolean) => (ok ? '✓' : '✗');

// ---- chart -------------------------------------------------------------------------------------------

const W = 960;
const M = { left: 64, right: 24 };
const plotW = W - M.left - M.right;

function stepsOf(round: RampRound): RampStep[] {
  // The coarse and the fine pass, one point per rate (the fine pass's, measured over a longer hold).
  const byRate = new Map<number, RampStep>();
  for (const pass of round.passes) for (const s of pass.steps) byRate.set(s.rate, s);
  return [...byRate.values()].sort((a, b) => a.rate - b.rate);
}

const bestSteps = (r: RampResult) => stepsOf(r.rounds[r.best]!);

/** A variant's equal-load figure: its round with the lowest p95 (the one the machine's other work disturbed least). */
export function equalLoadPhase(results: BenchResults, variant: string): SteadyResult | undefined {
  const rounds = results.equalLoad.phases.filter((p) => p.variant === variant && p.round !== null);
  return rounds.sort((a, b) => a.latencyMs.p95 - b.latencyMs.p95)[0];
}

function latencyPanel(results: BenchResults, y0: number, h: number): string {
  const bound = results.settings.p95BoundMs;
  const cap = bound * 4;
  // The knees, not the far end of the coarse staircases: up to 1.6 × the highest sustainable rate.
  const highest = Math.max(...results.ramps.map((r) => r.sustainable ?? 0));
  const maxRate = highest ? highest * 1.6 : Math.max(...results.ramps.flatMap((r) => bestSteps(r).map((s) => s.rate)), 1);
  const xs = niceScale(maxRate);
  const ys = niceScale(cap);
  const x = (rate: number) => M.left + (rate / xs.top) * plotW;
  const y = (v: number) => y0 + h - (Math.min(v, ys.top) / ys.top) * h;
  const parts = [
    `<text x="${M.left}" y="${y0 - 10}" class="title">${esc(`p95 latency per step (ms, capped at ${ys.top}) against the offered rate (requests/s); dashed: the ${bound} ms bound`)}</text>`,
    ...yGrid(M.left, W - M.right, ys.top, ys.step, y),
    `<line x1="${M.left}" x2="${W - M.right}" y1="${y(bound)}" y2="${y(bound)}" class="bound"/>`,
  ];
  for (const r of results.ramps) {
    const steps = bestSteps(r).filter((s) => s.rate <= xs.top);
    const color = COLOR[r.name] ?? '#495057';
    parts.push(`<polyline points="${steps.map((s) => `${x(s.rate).toFixed(1)},${y(s.p95).toFixed(1)}`).join(' ')}" fill="none" stroke="${color}" stroke-width="1.6"/>`);
    for (const s of steps) {
      parts.push(
        `<circle cx="${x(s.rate).toFixed(1)}" cy="${y(s.p95).toFixed(1)}" r="${s.rate === r.sustainable ? 5 : 2.5}" fill="${s.ok ? color : '#ffffff'}" stroke="${color}"><title>${esc(`${LABEL[r.name] ?? r.name}: ${s.rate}/s, p95 ${ms(s.p95)} ms, dropped ${s.dropped}${s.ok ? '' : ' — not sustainable'}`)}</title></circle>`,
      );
    }
  }
  parts.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${y0 + h}" y2="${y0 + h}" class="axis"/>`);
  for (let r = 0; r <= xs.top; r += xs.step) parts.push(`<text x="${x(r)}" y="${y0 + h + 16}" class="tick" text-anchor="middle">${r}</text>`);
  parts.push(`<text x="${W - M.right}" y="${y0 + h + 30}" class="note" text-anchor="end">filled: sustainable step; large: the maximum sustainable rate</text>`);
  return parts.join('\n');
}

function barsPanel(title: string, y0: number, rows: { label: string; parts: { value: number; color: string; name: string }[]; note: string }[]): string {
  const rowH = 22;
  const labelW = 170;
  const max = Math.max(...rows.map((r) => r.parts.reduce((a, p) => a + p.value, 0)), 0.001);
  const { top } = niceScale(max);
  const scale = (W - M.right - M.left - labelW - 120) / top;
  const parts = [`<text x="${M.left}" y="${y0 - 10}" class="title">${esc(title)}</text>`];
  rows.forEach((row, i) => {
    const ry = y0 + i * rowH;
    parts.push(`<text x="${M.left + labelW - 8}" y="${ry + 14}" class="legend" text-anchor="end">${esc(row.label)}</text>`);
    let bx = M.left + labelW;
    for (const p of row.parts) {
      const bw = p.value * scale;
      parts.push(`<rect x="${bx.toFixed(1)}" y="${ry + 3}" width="${bw.toFixed(1)}" height="${rowH - 6}" fill="${p.color}"><title>${esc(`${row.label}, ${p.name}: ${p.value.toFixed(3)}`)}</title></rect>`);
      bx += bw;
    }
    parts.push(`<text x="${(bx + 6).toFixed(1)}" y="${ry + 14}" class="tick">${esc(row.note)}</text>`);
  });
  return parts.join('\n');
}

function chart(results: BenchResults): string {
  const latencyTop = 92;
  const latencyH = 220;
  const ratesTop = latencyTop + latencyH + 64;
  const rates = results.ramps.map((r) => ({
    label: LABEL[r.name] ?? r.name,
    parts: [{ value: r.sustainable ?? 0, color: COLOR[r.name] ?? '#495057', name: 'requests/s' }],
    note: r.sustainable === null ? 'none' : `${r.censored ? '≥ ' : ''}${r.sustainable}/s`,
  }));
  const cpuTop = ratesTop + rates.length * 22 + 48;
  const phases = VARIANTS.map((v) => equalLoadPhase(results, v)).filter((p): p is SteadyResult => !!p);
  const cpu = phases.map((p) => {
    const per = (x: number) => (p.requests ? (x / p.requests) * 1000 : 0);
    return {
      label: LABEL[p.variant] ?? p.variant,
      parts: (['nginx', 'apps', 'redis'] as const).map((k) => ({ value: per(p.cpu.net[k]), color: PART_COLOR[k], name: k })),
      note: `${p.cpu.perThousand.toFixed(2)} CPU-s (${p.cpu.perThousandGross.toFixed(2)} with idle)`,
    };
  });
  const height = cpuTop + cpu.length * 22 + 28;
  const keys = legend(
    results.ramps.map((r) => ({ label: LABEL[r.name] ?? r.name, color: COLOR[r.name] ?? '#495057' })),
    M.left,
    40,
    170,
  );
  const partKeys = legend(
    (['nginx', 'apps', 'redis'] as const).map((k) => ({ label: k, color: PART_COLOR[k] })),
    W - M.right - 3 * 80,
    cpuTop - 10,
    80,
  );
  const rounds = results.settings.rounds ?? 1;
  const heading = `session-cluster benchmark, ${results.startedAt.slice(0, 10)} (${results.mode} run${rounds > 1 ? `, best of ${rounds} rounds` : ''}): sticky vs Redis vs Redis Cluster vs no session`;
  const body = [
    keys,
    latencyPanel(results, latencyTop, latencyH),
    barsPanel('maximum sustainable rate (requests/s)', ratesTop, rates),
    barsPanel(`server CPU-seconds per 1000 requests at ${results.equalLoad.rate} requests/s, net of idle`, cpuTop, cpu),
    partKeys,
  ].join('\n');
  return svgDocument(W, height, M.left, heading, body);
}

// ---- markdown ----------------------------------------------------------------------------------------

/** The equal-load phase a column shows: a variant's best round, or the reads-only phase. */
function phaseOf(results: BenchResults, variant: string): SteadyResult | undefined {
  return variant.endsWith('-reads') ? results.equalLoad.phases.find((p) => p.name === variant) : equalLoadPhase(results, variant);
}

const rampOf = (results: BenchResults, name: string) => results.ramps.find((r) => r.name === name);

/** The results table's cells, one function a row: a variant (column) → its cell. */
function cells(results: BenchResults): Record<string, (name: string) => string> {
  const phase = (name: string) => phaseOf(results, name);
  return {
    sustainable: (name) => {
      const r = rampOf(results, name);
      if (!r) return 'not measured';
      const each = r.rounds.length > 1 ? ` (rounds: ${r.rounds.map((x) => x.sustainable ?? 'none').join(', ')})` : '';
      return r.sustainable === null ? 'none' : `**${r.censored ? '≥ ' : ''}${r.sustainable}** req/s${each}`;
    },
    latency: (name) => {
      const p = phase(name);
      if (!p) return '';
      const all = results.equalLoad.phases.filter((x) => x.variant === name && x.round !== null);
      const each = all.length > 1 ? ` (p95 of the rounds: ${all.map((x) => ms(x.latencyMs.p95)).join(', ')})` : '';
      return `${ms(p.latencyMs.p50)} / **${ms(p.latencyMs.p95)}** / ${ms(p.latencyMs.p99)} ms${each}`;
    },
    failed: (name) => {
      const p = phase(name);
      return p ? `${p.failed} / ${p.dropped} of ${p.requests}` : '';
    },
    cpu: (name) => {
      const p = phase(name);
      if (!p) return '';
      const per = (x: number) => ((x / p.requests) * 1000).toFixed(2);
      return (
        `**${p.cpu.perThousand.toFixed(2)}**: nginx ${per(p.cpu.net.nginx)}, apps ${per(p.cpu.net.apps)}${p.variant === 'sticky' ? '' : `, Redis ${per(p.cpu.net.redis)}`}` +
        ` (${p.cpu.perThousandGross.toFixed(2)} with idle)`
      );
    },
    commands: (name) => {
      const p = phase(name);
      if (!p?.redis) return '—';
      const top = Object.entries(p.redis.commands)
        .filter(([c]) => !/^(ping|info|publish|subscribe|psubscribe|replconf|psync|sync|auth|hello|role|select)$|\|/.test(c))
        .sort((a, b) => b[1] - a[1])
        .map(([c, n]) => `${c} ${(n / p.requests).toFixed(3)}`)
        .join(', ');
      return `**${p.redis.perRequest.toFixed(3)}**${top ? ` (${top})` : ''}`;
    },
    storeOps: (name) => {
      if (name === 'baseline') return '—';
      const ops = Object.entries(phase(name)?.storeOpsPerRequest ?? {}).sort((a, b) => b[1] - a[1]);
      return ops.length ? ops.map(([op, n]) => `${op} ${n.toFixed(3)}`).join(', ') : '—';
    },
    reuse: (name) => {
      const p = phase(name);
      if (!p || p.keepalive.reuse === null) return '';
      return `${pct(p.keepalive.reuse, 2)} (${p.keepalive.connections} connections, ${p.keepalive.requests} requests)`;
    },
  };
}

/** The opening paragraph, the results table and its footnotes. */
function resultsSection(results: BenchResults): string[] {
  const { settings: st } = results;
  const rounds = st.rounds ?? 1;
  const rate = results.equalLoad.rate;
  const redis = phaseOf(results, 'redis');
  const c = cells(results);
  // Reports from before the cluster variant have no cluster column.
  const columns = ['baseline', 'sticky', 'redis', 'cluster'].filter((v) => v !== 'cluster' || rampOf(results, v) || phaseOf(results, v));
  const row = (label: string, cell: (name: string) => string) => `| ${label} | ${columns.map(cell).join(' | ')} |`;
  return [
    `# session-cluster benchmark — ${results.startedAt.slice(0, 10)} (${results.mode} run)`,
    '',
    `\`npm run bench${results.mode === 'short' ? ':ci' : ''}\` (loadtest/bench.sh), ${Math.round(results.durationS / 60)} min; the method: [docs/benchmarks.md](../benchmarks.md). ` +
      (rounds > 1 ? `Every ramp and equal-load phase ran ${rounds} times (the variants alternating); each figure is the best round's. ` : '') +
      `Workload: one request per iteration — ${redis?.mix ?? '?'} over ${st.sessions} sessions logged in by \`setup()\` (alice, bob, carol in turn), ${st.vus} VUs; ` +
      `the baseline sends \`GET /api/ping\` (no session middleware, no store) through the same nginx and apps. ` +
      `k6 ${st.runner === 'docker' ? "in the compose project's `loadtest` profile, on the `front` network (k6 → nginx, no docker-proxy hop)" : 'on the host against the loopback ports'}; app log level \`${st.logLevel}\`.`,
    '',
    `| | ${columns.map((v) => LABEL[v]).join(' | ')} |`,
    `|---|${columns.map(() => '---|').join('')}`,
    row('maximum sustainable rate¹', c.sustainable!),
    row(`p50 / p95 / p99 at ${rate} req/s²`, c.latency!),
    row(`failed / dropped at ${rate} req/s`, c.failed!),
    row('server CPU-s per 1000 requests³', c.cpu!),
    row('Redis commands per request⁴', c.commands!),
    row('store operations per request (apps)', c.storeOps!),
    row('nginx → app keep-alive reuse⁵', c.reuse!),
    '',
    `¹ The highest step of a ramping-arrival-rate staircase (\`loadtest/bench/01.ramp.ts\`; ${st.plan.fine ? 'a coarse pass, then a fine one from just below the knee' : 'one coarse pass'}) with no dropped iteration (≤ ${st.edgeTolerance} short of rate × hold, the step's edges), ` +
      `failed requests ≤ ${pct(st.maxFailed)} and **p95 ≤ ${st.p95BoundMs} ms**. ` +
      `² Every variant at the same rate, 50 % of the sticky maximum, for ${redis?.durationS ?? '?'} s (\`02.steady.ts\`)${rounds > 1 ? '; the round with the lowest p95, whose CPU, commands and reuse the rows below give' : ''}. ` +
      `³ CPU time of the variant's containers over the load (${st.cpuSource}): nginx + the three apps, + the three Redis nodes (redis-primary, redis-replica, redis-replica-2) for the Redis variant and the baseline, + the six redis-node containers for Redis Cluster; the Sentinels, k6 and the machine's other work are listed below, not summed. ` +
      `Net of each container's idle rate — measured while the other variant was under load: Docker's healthcheck probes every app every 3 s, Sentinel pings Redis — so the figure is what the requests cost; "with idle" keeps it. ` +
      `⁴ Delta of the primary's INFO commandstats (Redis Cluster: the three primaries', added up) over k6's request count, without what Sentinel, the replicas, the probe and the cluster clients' slot-map refreshes send (ping, info, publish, replconf, auth, client…, cluster…) and what the apps' live view sent (its heartbeat, counted by the apps: \`sc_live_redis_commands_total\`); commandstats also counts the commands a Lua script runs. ` +
      `⁵ 1 − TCP connections the apps accepted from nginx (\`sc_http_connections_total{peer="remote"}\`) / requests they answered it, over the phase.`,
    '',
  ];
}

function goalsSection(results: BenchResults): string[] {
  const s = phaseOf(results, 'sticky');
  const r = phaseOf(results, 'redis');
  const reads = phaseOf(results, 'redis-reads');
  const rate = results.equalLoad.rate;
  const [redisMax, stickyMax] = [rampOf(results, 'redis')?.sustainable, rampOf(results, 'sticky')?.sustainable];
  const rateRatio = redisMax && stickyMax ? redisMax / stickyMax : null;
  const p95Ratio = s && r && s.latencyMs.p95 > 0 ? r.latencyMs.p95 / s.latencyMs.p95 : null;
  // Every phase, every round: the goal is about nginx, whichever round is reported.
  const reuses = results.equalLoad.phases.map((p) => p.keepalive.reuse).filter((x): x is number => typeof x === 'number');
  const minReuse = reuses.length ? Math.min(...reuses) : null;
  const perRead = results.gate.commandsPerRead;
  return [
    '**Goals**',
    '',
    '| goal | measured | |',
    '|---|---|---|',
    `| Redis sustainable rate ≥ 90 % of sticky's | ${rateRatio === null ? 'not measured' : `${pct(rateRatio, 0)} (${redisMax} / ${stickyMax} req/s)`} | ${rateRatio === null ? '' : mark(rateRatio >= 0.9)} |`,
    `| Redis p95 ≤ 1.25 × sticky's at equal load | ${p95Ratio === null ? 'not measured' : `${p95Ratio.toFixed(3)} × (${ms(r!.latencyMs.p95)} / ${ms(s!.latencyMs.p95)} ms)`} | ${p95Ratio === null ? '' : mark(p95Ratio <= 1.25)} |`,
    `| Redis commands per authenticated read ≤ ${results.gate.limit}, Sentinel mode (fails \`npm run bench:ci\`) | ${perReadCell(perRead, reads, rate)} | ${perRead === null ? '' : mark(perRead <= results.gate.limit)} |`,
    ...clusterGoalRows(results),
    `| nginx upstream keep-alive reuse ≥ 99 % | ${minReuse === null ? 'not measured' : `lowest ${pct(minReuse, 2)}`} | ${minReuse === null ? '' : mark(minReuse >= 0.99)} |`,
    '',
  ];
}

/** Commands per read, and what they were counted over. */
function perReadCell(perRead: number | null | undefined, reads: SteadyResult | undefined, rate: number): string {
  if (typeof perRead !== 'number') return 'not measured';
  return `${perRead.toFixed(3)} (${reads?.redis?.appCommands} commands / ${reads?.reads} reads of \`GET /api/session\`, reads only, ${rate} req/s)`;
}

/** The Redis Cluster rows: its gate, and how it compares with Sentinel mode (reported; no target). */
function clusterGoalRows(results: BenchResults): string[] {
  const { clusterCommandsPerRead: perRead, limit } = results.gate;
  if (perRead === undefined) return [];
  const [sentinel, cluster] = [phaseOf(results, 'redis'), phaseOf(results, 'cluster')];
  const [sentinelMax, clusterMax] = [rampOf(results, 'redis')?.sustainable, rampOf(results, 'cluster')?.sustainable];
  const p95 = sentinel && cluster && sentinel.latencyMs.p95 > 0 ? `${(cluster.latencyMs.p95 / sentinel.latencyMs.p95).toFixed(3)} × (${ms(cluster.latencyMs.p95)} / ${ms(sentinel.latencyMs.p95)} ms)` : 'not measured';
  const cpu = sentinel && cluster && sentinel.cpu.perThousand > 0 ? `${(cluster.cpu.perThousand / sentinel.cpu.perThousand).toFixed(2)} × (${cluster.cpu.perThousand.toFixed(2)} / ${sentinel.cpu.perThousand.toFixed(2)} CPU-s per 1000)` : 'not measured';
  return [
    `| Redis commands per authenticated read ≤ ${limit}, cluster mode (fails \`npm run bench:ci\`) | ${perReadCell(perRead, phaseOf(results, 'cluster-reads'), results.equalLoad.rate)} | ${perRead === null ? '' : mark(perRead <= limit)} |`,
    `| Redis Cluster vs Sentinel mode: sustainable rate (reported) | ${sentinelMax && clusterMax ? `${pct(clusterMax / sentinelMax, 0)} (${clusterMax} / ${sentinelMax} req/s)` : 'not measured'} | |`,
    `| Redis Cluster vs Sentinel mode: p95 at equal load (reported) | ${p95} | |`,
    `| Redis Cluster vs Sentinel mode: server CPU per request (reported) | ${cpu} | |`,
  ];
}

function scalingSection(results: BenchResults): string[] {
  const scaling = ['redis-1-app', 'redis-2-apps', 'redis'].map((name) => rampOf(results, name)).filter((x): x is RampResult => !!x);
  if (scaling.length <= 1) return [];
  const one = scaling[0]!.sustainable;
  return [
    '**Scaling** (Redis variant, the same ramp with app-3, then app-2 too, stopped; nginx re-resolves the names)',
    '',
    '| apps | maximum sustainable rate | vs 1 app |',
    '|---|---|---|',
    ...scaling.map((x) => `| ${x.apps} | ${x.censored ? '≥ ' : ''}${x.sustainable ?? 'none'} req/s | ${one && x.sustainable ? `${(x.sustainable / one).toFixed(2)} ×` : ''} |`),
    '',
  ];
}

function machineLoadSection(results: BenchResults): string[] {
  const rows = results.equalLoad.phases.map((p) => {
    const per = (x: number | null) => (x === null ? '?' : (x / p.cpu.wallS).toFixed(2));
    const sentinels = ['sentinel-1', 'sentinel-2', 'sentinel-3'].reduce((sum, n) => sum + (p.cpu.containers[n] ?? 0), 0);
    return `| ${p.name}${p.countersLate ? ' (counters read late)' : ''} | ${per(p.cpu.stack.total)} | ${per(sentinels)} | ${per(p.cpu.k6)} | ${per(p.cpu.other)} | ${per(p.cpu.hostBusy)} |`;
  });
  return [
    '**The machine during the equal-load phases** (CPU-seconds per second of wall time; 2.0 = both cores)',
    '',
    '| phase | variant\'s containers | Sentinels | k6 | everything else⁶ | machine busy |',
    '|---|---|---|---|---|---|',
    ...rows,
    '',
    '⁶ The machine\'s busy time less every container of the project and k6: other jobs, dockerd, the kernel\'s share of the bridge networking.',
    '',
  ];
}

function rampStepsSection(results: BenchResults): string[] {
  const lines = ['**Ramp steps** (p95 and dropped iterations per held step; ✗ = not sustainable)', ''];
  for (const ramp of results.ramps) {
    ramp.rounds.forEach((round, i) => {
      lines.push(
        `- ${LABEL[ramp.name] ?? ramp.name} (${ramp.apps} app${ramp.apps > 1 ? 's' : ''}${ramp.rounds.length > 1 ? `, round ${i + 1}${i === ramp.best ? ', best' : ''}` : ''}): ` +
          stepsOf(round)
            .map((x) => `${x.rate} ${x.ok ? '' : '✗'}${ms(x.p95)} ms${x.dropped ? ` −${x.dropped}` : ''}${x.failedRate > 0 ? ` ${pct(x.failedRate, 2)} failed` : ''}`)
            .join(' · '),
      );
    });
  }
  lines.push('');
  return lines;
}

function markdown(results: BenchResults, svgName: string): string {
  const words = { onMachine: 'the stack and k6 on this one machine', loadNote: '', driver: 'the bench driver', last: `; k6 runs in ${results.settings.runDir}` };
  return [
    ...resultsSection(results),
    ...goalsSection(results),
    ...scalingSection(results),
    `![p95 per step against the offered rate for every ramp, the sustainable rates, CPU-seconds per 1000 requests by component](${svgName})`,
    '',
    ...machineLoadSection(results),
    ...rampStepsSection(results),
    ...machineSection(results.run as RunFacts | undefined, words),
  ].join('\n');
}

export function writeReport(results: BenchResults, out: string): void {
  mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
  const svgName = `${path.basename(out)}.svg`;
  writeFileSync(`${out}.svg`, chart(results));
  writeFileSync(`${out}.md`, markdown(results, svgName));
}
