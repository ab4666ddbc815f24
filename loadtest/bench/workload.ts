// The benchmark's workload (docs/benchmarks.md), shared by 01.ramp and 02.steady. One iteration = one
// request, so iterations/s = requests/s:
//   redis, sticky,  GET /api/session (an authenticated read), and every WRITE_EVERY-th iteration instead a
//   cluster         POST /api/visits with the session's CSRF token (an atomic write): 90 % reads by default
//   baseline        GET /api/ping through the Redis variant's nginx and apps: no session, no store
// setup() logs SESSIONS users in (alice, bob, carol in turn); each VU then uses one of those sessions, so
// the run measures reads and writes, not scrypt. The cookies go with each request (params.cookies): k6's
// per-iteration jar stays empty and nothing is parsed that the measurement does not need.
import http from 'k6/http';
import exec from 'k6/execution';
import { fail, sleep } from 'k6';
import { Gauge } from 'k6/metrics';
import { RESULTS_DIR, TARGETS, USERS, envNumber, type Target } from '../lib/config.ts';
import { checkTarget } from '../lib/setup.ts';
import type { BenchVariant } from '../lib/variants.ts';

export type { BenchVariant };

export const VARIANT = (__ENV.BENCH_VARIANT || 'redis') as BenchVariant;
if (!['baseline', 'sticky', 'redis', 'cluster'].includes(VARIANT)) fail(`BENCH_VARIANT must be baseline, sticky, redis or cluster, not "${VARIANT}"`);

/** The nginx the variant is measured through: the baseline shares the Redis variant's. */
export const TARGET: Target = VARIANT === 'baseline' ? TARGETS.redis : TARGETS[VARIANT];

/** Every WRITE_EVERY-th iteration is a POST /api/visits; 0 = reads only (the Redis-commands-per-read check). */
const WRITE_EVERY = __ENV.WRITE_EVERY === '0' ? 0 : envNumber('WRITE_EVERY', 10);
/** Sessions logged in by setup(), shared by the VUs (an atomic write on a shared session is still one write). */
const SESSIONS = envNumber('SESSIONS', 30);
/** VUs, all allocated before the load starts: enough that latency, not a lack of VUs, drops iterations first. */
export const VUS = envNumber('VUS', 100);
/** An idle gap between setup() and the load, in which the bench driver snapshots its counters (docs/benchmarks.md). */
export const GAP_S = envNumber('GAP_S', 3);

export const MIX = VARIANT === 'baseline' ? 'GET /api/ping' : WRITE_EVERY ? `${100 - 100 / WRITE_EVERY} % GET /api/session, ${100 / WRITE_EVERY} % POST /api/visits` : 'GET /api/session only';

/** When the load began (ms since the epoch): tools/bench-run.ts cuts its CPU samples to it. */
const loadStart = new Gauge('bench_load_start_ms');

export interface BenchSession {
  cookies: Record<string, string>;
  csrfToken: string;
}

/** Logs the sessions in, in parallel batches; the baseline needs none. */
export function loginSessions(): BenchSession[] {
  checkTarget(TARGET);
  if (VARIANT === 'baseline') return [];
  const sessions: BenchSession[] = [];
  let failures = 0;
  while (sessions.length < SESSIONS) {
    const batch = Array.from({ length: Math.min(10, SESSIONS - sessions.length) }, (_, i) => {
      const user = USERS[(sessions.length + i) % USERS.length]!;
      // A jar per login: no cookie of another session (or another sc.route) goes with it.
      return {
        method: 'POST',
        url: `${TARGET.url}/api/login`,
        body: JSON.stringify(user),
        params: { headers: { 'Content-Type': 'application/json' }, jar: new http.CookieJar(), tags: { kind: 'setup' } },
      };
    });
    for (const res of http.batch(batch)) {
      if (res.status !== 200) {
        // A store that has just come up may answer 503 for a moment: a few tries before giving up.
        failures += 1;
        if (failures > 20) fail(`login answered ${res.status || res.error}: the ${VARIANT} bench cannot start`);
        continue;
      }
      const cookies: Record<string, string> = {};
      for (const [name, values] of Object.entries(res.cookies)) cookies[name] = values[0]!.value;
      if (!cookies[TARGET.cookieName]) fail(`login set no ${TARGET.cookieName} cookie`);
      sessions.push({ cookies, csrfToken: (res.json() as { csrfToken: string }).csrfToken });
    }
    if (failures > 0 && sessions.length < SESSIONS) sleep(0.5);
  }
  return sessions;
}

/** One request. `tags` adds what the script measures by (the ramp's step). */
export function benchIteration(sessions: BenchSession[], tags: Record<string, string> = {}): void {
  if (exec.scenario.iterationInTest === 0) loadStart.add(exec.scenario.startTime);
  if (VARIANT === 'baseline') {
    http.get(`${TARGET.url}/api/ping`, { responseType: 'none', tags: { name: 'GET /api/ping', op: 'ping', ...tags } });
    return;
  }
  const session = sessions[exec.vu.idInTest % sessions.length]!;
  if (WRITE_EVERY && exec.scenario.iterationInTest % WRITE_EVERY === WRITE_EVERY - 1) {
    http.post(`${TARGET.url}/api/visits`, null, {
      cookies: session.cookies,
      headers: { 'X-CSRF-Token': session.csrfToken },
      responseType: 'none',
      tags: { name: 'POST /api/visits', op: 'write', ...tags },
    });
  } else {
    http.get(`${TARGET.url}/api/session`, { cookies: session.cookies, responseType: 'none', tags: { name: 'GET /api/session', op: 'read', ...tags } });
  }
}

/** What the scenarios of both scripts share: every VU allocated before the load, the idle gap first, the tags. */
export const SCENARIO_BASE = {
  preAllocatedVUs: VUS,
  maxVUs: VUS,
  startTime: `${GAP_S}s`,
  gracefulStop: '5s',
  tags: { kind: 'bench', variant: VARIANT },
};

/** k6 keeps a tagged sub-metric in the summary only when a threshold names it: always-true ones, for both scripts. */
export const BENCH_THRESHOLDS: Record<string, string[]> = {
  'http_reqs{kind:bench}': ['count>=0'],
  'http_req_failed{kind:bench}': ['rate>=0'],
  'http_req_duration{kind:bench}': ['p(95)>=0'],
};

/** Trend stats kept in the summary. */
export const TREND_STATS = ['avg', 'min', 'med', 'p(90)', 'p(95)', 'p(99)', 'max', 'count'];

/** handleSummary for both scripts: the plan and k6's data as JSON for tools/bench-run.ts, a line on stdout. */
export function benchSummary(script: string, plan: Record<string, unknown>) {
  return (data: { metrics: Record<string, { values: Record<string, number> }> }): Record<string, string> => {
    const v = (metric: string, stat: string) => data.metrics[metric]?.values[stat] ?? 0;
    const line =
      `${script} ${VARIANT}: ${v('http_reqs{kind:bench}', 'count')} requests, ${v('dropped_iterations', 'count')} dropped, ` +
      `failed ${(v('http_req_failed{kind:bench}', 'rate') * 100).toFixed(2)} %, ` +
      `p50/p95/p99 ${v('http_req_duration{kind:bench}', 'med').toFixed(1)}/${v('http_req_duration{kind:bench}', 'p(95)').toFixed(1)}/` +
      `${v('http_req_duration{kind:bench}', 'p(99)').toFixed(1)} ms\n`;
    const json = { script, variant: VARIANT, mix: MIX, vus: VUS, gapS: GAP_S, finishedAt: new Date().toISOString(), plan, k6: data };
    return { stdout: line, [`${RESULTS_DIR}/summary.json`]: JSON.stringify(json, null, 1) };
  };
}
