import { TestClient, type DemoUser, type Target } from '../helpers/client';

export interface ProbeReport {
  requests: number;
  /** Failed requests (not 2xx) by method. */
  failed: { GET: number; POST: number };
  /** Times the session was gone (401) or the counter did not continue from the last value. */
  sessionsLost: number;
  servedBy: Record<string, number>;
  statuses: Record<string, number>;
}

/**
 * One logged-in user hammering the cluster in a loop, alternately reading the session (GET) and
 * bumping the visits counter (POST). Every POST must answer the previous value + 1, or the session
 * was lost. Runs until stop() is called.
 */
export class Probe {
  readonly client: TestClient;
  private running = false;
  private loop: Promise<void> | undefined;
  private lastVisits = 0;
  /** POSTs that failed since the last success: each may or may not have reached Redis. */
  private unknownPosts = 0;
  readonly report: ProbeReport = { requests: 0, failed: { GET: 0, POST: 0 }, sessionsLost: 0, servedBy: {}, statuses: {} };

  constructor(
    private readonly target: Target,
    private readonly pauseMs = 20,
  ) {
    this.client = new TestClient();
  }

  async login(user: DemoUser = 'alice'): Promise<void> {
    const res = await this.client.login(this.target, user);
    this.lastVisits = res.body.session.visits;
  }

  private count(method: 'GET' | 'POST', status: number, servedBy: string | undefined): void {
    this.report.requests += 1;
    this.report.statuses[status] = (this.report.statuses[status] ?? 0) + 1;
    if (servedBy) this.report.servedBy[servedBy] = (this.report.servedBy[servedBy] ?? 0) + 1;
    if (status < 200 || status >= 300) this.report.failed[method] += 1;
  }

  /** One GET and one POST; returns false once the session is gone. */
  async step(): Promise<boolean> {
    const read = await this.client.get(this.target, '/api/session').catch(() => null);
    this.count('GET', read?.status ?? 0, read?.headers['x-served-by']);
    if (read?.status === 401) {
      this.report.sessionsLost += 1;
      return false;
    }
    const bump = await this.client.post(this.target, '/api/visits').catch(() => null);
    this.count('POST', bump?.status ?? 0, bump?.headers['x-served-by']);
    if (bump?.status === 401) {
      this.report.sessionsLost += 1;
      return false;
    }
    if (bump?.status === 200) {
      // Exactly +1, or up to +1 more per failed POST in between (it may have landed before failing);
      // never less and never a reset: that would be a lost session.
      const visits = bump.body.visits as number;
      if (visits < this.lastVisits + 1 || visits > this.lastVisits + 1 + this.unknownPosts) this.report.sessionsLost += 1;
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
      while (this.running && (await this.step())) await new Promise((r) => setTimeout(r, this.pauseMs));
    })();
  }

  async stop(): Promise<ProbeReport> {
    this.running = false;
    await this.loop;
    return this.report;
  }
}
