import { counterStep } from '../../loadtest/lib/continuity';
import { sleep } from '../../toolkit/time';
import { TestClient, type DemoUser, type Target } from '../helpers/client';

export interface ProbeReport {
  requests: number;
  /** Failed requests (not 2xx) by method. */
  failed: { GET: number; POST: number };
  /** Times the session was gone (401) or the counter did not continue from the last value. */
  sessionsLost: number;
  /**
   * sessionsLost by reason: `gone` (401), `stale` (the counter went back: acknowledged writes were lost),
   * `late` (it jumped further than the failed POSTs in between allow: one that failed, or was answered
   * out of order, was applied after a later one); `writes`: how many acknowledged increments vanished.
   */
  lost: { gone: number; stale: number; late: number; writes: number };
  servedBy: Record<string, number>;
  statuses: Record<string, number>;
}

/** One request as the probe saw it, for latency percentiles over a window of time. */
export interface ProbeSample {
  /** When the request was sent (epoch ms). */
  at: number;
  /** How long it took to answer (or to fail without an answer: status 0). */
  ms: number;
  method: 'GET' | 'POST';
  status: number;
  servedBy?: string;
  /** The `error` code of a JSON error body (`redis_unavailable`…), when there is one. */
  error?: string;
  /** A POST answered 200: the counter it returned, and whether it went back or jumped (see ProbeReport.lost). */
  visits?: number;
  stale?: boolean;
  late?: boolean;
  /** A GET answered 200 from the session's snapshot while the store was down (REDIS_DOWN_POLICY=read-only). */
  degraded?: boolean;
}

export interface ProbeOptions {
  /** Pause between two steps (default 20 ms). */
  pauseMs?: number;
  /** false: POST /api/visits only, no GET in between (a write-throughput load). Default true. */
  reads?: boolean;
}

const emptyReport = (): ProbeReport => ({ requests: 0, failed: { GET: 0, POST: 0 }, sessionsLost: 0, lost: { gone: 0, stale: 0, late: 0, writes: 0 }, servedBy: {}, statuses: {} });

/**
 * One logged-in user hammering the cluster in a loop, alternately reading the session (GET) and
 * bumping the visits counter (POST). Every POST must answer the previous value + 1, or the session
 * was lost. Runs until stop() is called. Every request is kept in `samples`.
 */
export class Probe {
  readonly client: TestClient;
  private running = false;
  private loop: Promise<void> | undefined;
  private lastVisits = 0;
  /** POSTs that failed since the last success: each may or may not have reached Redis. */
  private unknownPosts = 0;
  private readonly pauseMs: number;
  private readonly reads: boolean;
  readonly report: ProbeReport = emptyReport();
  readonly samples: ProbeSample[] = [];

  constructor(
    private readonly target: Target,
    options: number | ProbeOptions = {},
  ) {
    const { pauseMs = 20, reads = true } = typeof options === 'number' ? { pauseMs: options } : options;
    this.pauseMs = pauseMs;
    this.reads = reads;
    this.client = new TestClient();
  }

  async login(user: DemoUser = 'alice'): Promise<void> {
    const res = await this.client.login(this.target, user);
    this.lastVisits = res.body.session.visits;
  }

  /** Sends one request and records it; a request that got no answer at all counts as status 0. */
  private async send(method: 'GET' | 'POST', path: string) {
    const at = Date.now();
    const res = await (method === 'GET' ? this.client.get(this.target, path) : this.client.post(this.target, path)).catch(() => null);
    const status = res?.status ?? 0;
    const servedBy = res?.headers['x-served-by'] as string | undefined;
    const error = typeof res?.body?.error === 'string' ? (res.body.error as string) : undefined;
    const degraded = res?.body?.degraded === true;
    const sample: ProbeSample = { at, ms: Date.now() - at, method, status, ...(servedBy ? { servedBy } : {}), ...(error ? { error } : {}), ...(degraded ? { degraded } : {}) };
    this.samples.push(sample);
    this.report.requests += 1;
    this.report.statuses[status] = (this.report.statuses[status] ?? 0) + 1;
    if (servedBy) this.report.servedBy[servedBy] = (this.report.servedBy[servedBy] ?? 0) + 1;
    if (status < 200 || status >= 300) this.report.failed[method] += 1;
    return { res, sample };
  }

  private gone(): false {
    this.report.sessionsLost += 1;
    this.report.lost.gone += 1;
    return false;
  }

  /** One GET and one POST (or the POST alone); returns false once the session is gone. */
  async step(): Promise<boolean> {
    if (this.reads) {
      const read = await this.send('GET', '/api/session');
      if (read.res?.status === 401) return this.gone();
    }
    const { res: bump, sample } = await this.send('POST', '/api/visits');
    if (bump?.status === 401) return this.gone();
    if (bump?.status === 200) {
      const visits = bump.body.visits as number;
      sample.visits = visits;
      const step = counterStep(this.lastVisits, visits, this.unknownPosts);
      if (step === 'stale') {
        sample.stale = true;
        this.report.sessionsLost += 1;
        this.report.lost.stale += 1;
        this.report.lost.writes += this.lastVisits + 1 - visits;
      } else if (step === 'late') {
        sample.late = true;
        this.report.sessionsLost += 1;
        this.report.lost.late += 1;
      }
      this.lastVisits = visits;
      this.unknownPosts = 0;
    } else {
      this.unknownPosts += 1;
    }
    return true;
  }

  start(): void {
    this.running = true;
    this.loop = (async () => {
      while (this.running && (await this.step())) await sleep(this.pauseMs);
    })();
  }

  async stop(): Promise<ProbeReport> {
    this.running = false;
    await this.loop;
    return this.report;
  }
}

/** Many probes at once: many logged-in users, each with its own session and its own loop. */
export class ProbeFleet {
  readonly probes: Probe[];

  constructor(
    private readonly target: Target,
    users: number,
    options: ProbeOptions = {},
  ) {
    this.probes = Array.from({ length: users }, () => new Probe(target, options));
  }

  /** Logs the users in one after the other, as alice, bob and carol in turn. */
  async login(): Promise<void> {
    const names: DemoUser[] = ['alice', 'bob', 'carol'];
    for (const [i, probe] of this.probes.entries()) await probe.login(names[i % names.length]);
  }

  start(): void {
    for (const probe of this.probes) probe.start();
  }

  /** Stops every user (each finishes the request it is waiting for) and returns the sum of their reports. */
  async stop(): Promise<ProbeReport> {
    await Promise.all(this.probes.map((p) => p.stop()));
    return this.report();
  }

  /** The sum of the users' reports so far. */
  report(): ProbeReport {
    const sum = emptyReport();
    for (const { report } of this.probes) {
      sum.requests += report.requests;
      sum.failed.GET += report.failed.GET;
      sum.failed.POST += report.failed.POST;
      sum.sessionsLost += report.sessionsLost;
      sum.lost.gone += report.lost.gone;
      sum.lost.stale += report.lost.stale;
      sum.lost.late += report.lost.late;
      sum.lost.writes += report.lost.writes;
      for (const [k, v] of Object.entries(report.servedBy)) sum.servedBy[k] = (sum.servedBy[k] ?? 0) + v;
      for (const [k, v] of Object.entries(report.statuses)) sum.statuses[k] = (sum.statuses[k] ?? 0) + v;
    }
    return sum;
  }

  /** Every user's requests, in the order they were sent. */
  samples(): ProbeSample[] {
    return this.probes.flatMap((p) => p.samples).sort((a, b) => a.at - b.at);
  }
}

export interface WindowStats {
  requests: number;
  failed: number;
  statuses: Record<string, number>;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** The value below which p % of the values fall (nearest rank); 0 for no values. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length))) - 1]!;
}

/** Requests sent in [from, to) (epoch ms): how many, how many failed, and their latency. */
export function windowStats(samples: ProbeSample[], from = -Infinity, to = Infinity): WindowStats {
  const inWindow = samples.filter((s) => s.at >= from && s.at < to);
  const statuses: Record<string, number> = {};
  for (const s of inWindow) statuses[s.status] = (statuses[s.status] ?? 0) + 1;
  const ms = inWindow.map((s) => s.ms);
  return {
    requests: inWindow.length,
    failed: inWindow.filter((s) => s.status < 200 || s.status >= 300).length,
    statuses,
    p50Ms: percentile(ms, 50),
    p99Ms: percentile(ms, 99),
    maxMs: ms.reduce((max, v) => Math.max(max, v), 0),
  };
}
