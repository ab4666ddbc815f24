// One simulated user per VU: logs in with a cookie jar of its own, keeps the CSRF token, and probes the
// session's continuity on every iteration. Used by 02.continuity, 03.chaos and 04.compare alike.
import http, { type RefinedResponse, type ResponseType } from 'k6/http';
import exec from 'k6/execution';
import { USERS, type Target, type Variant } from './config.ts';
import { counterStep } from './continuity.ts';
import { continuity, logins, servedBy, sessionLost } from './metrics.ts';

const JSON_HEADERS = { 'Content-Type': 'application/json' };

type Response = RefinedResponse<ResponseType | undefined>;

export class SessionUser {
  /** The VU's own jar: it outlives iterations (k6 empties the default jar at each one). */
  private readonly jar = new http.CookieJar();
  private csrfToken = '';
  /** The counter as this user last saw it. */
  private visits = 0;
  /**
   * POSTs that failed (502, 503, reset) since the last one answered 200: each may or may not have reached
   * the store before failing, so the next counter may be up to that many higher.
   */
  private unanswered = 0;
  private loginCount = 0;

  constructor(
    readonly target: Target,
    private readonly credentials: (typeof USERS)[number],
  ) {}

  get loggedIn(): boolean {
    return this.csrfToken !== '';
  }

  /** POST /api/login; false when the cluster did not let this user in (the next iteration tries again). */
  login(): boolean {
    const res = http.post(`${this.target.url}/api/login`, JSON.stringify(this.credentials), {
      headers: JSON_HEADERS,
      jar: this.jar,
      tags: { name: 'POST /api/login', kind: 'login' },
    });
    this.countServedBy(res);
    if (res.status !== 200) return false;
    const body = res.json() as { csrfToken: string; session: { visits: number } };
    this.csrfToken = body.csrfToken;
    this.visits = body.session.visits;
    this.unanswered = 0;
    logins.add(1, { kind: this.loginCount === 0 ? 'first' : 'again' });
    this.loginCount += 1;
    return true;
  }

  /** GET /api/session: still there, and its counter never behind what this user saw. False when lost. */
  readSession(): boolean {
    const res = http.get(`${this.target.url}/api/session`, { jar: this.jar, tags: { name: 'GET /api/session', kind: 'api' } });
    this.countServedBy(res);
    if (res.status === 401) {
      this.gone();
      return false;
    }
    if (res.status === 200) {
      const visits = res.json('visits') as number;
      if (visits < this.visits) this.stale(visits);
    }
    return true;
  }

  /** POST /api/visits, the continuity probe: the counter must be the previous value + 1. */
  bumpVisits(): void {
    const res = http.post(`${this.target.url}/api/visits`, null, {
      headers: { 'X-CSRF-Token': this.csrfToken },
      jar: this.jar,
      tags: { name: 'POST /api/visits', kind: 'api' },
    });
    this.countServedBy(res);
    if (res.status === 401 || res.status === 403) {
      this.gone();
      return;
    }
    if (res.status !== 200) {
      this.unanswered += 1;
      return;
    }
    const visits = res.json('visits') as number;
    if (counterStep(this.visits, visits, this.unanswered) !== 'continued') {
      this.stale(visits);
    } else {
      continuity.add(true);
      this.visits = visits;
    }
    this.unanswered = 0;
  }

  /** The session is gone: counted, forgotten, and the next iteration logs in again as a person would. */
  private gone(): void {
    sessionLost.add(1, { reason: 'gone' });
    continuity.add(false);
    // The jar is kept as a browser keeps its cookies: the 401 cleared sc.sid, sc.route (sticky) stays.
    this.csrfToken = '';
  }

  /** The session answers, but its counter is not where this user left it: writes were lost. */
  private stale(visits: number): void {
    sessionLost.add(1, { reason: 'stale' });
    continuity.add(false);
    this.visits = visits;
  }

  private countServedBy(res: Response): void {
    const instance = res.headers['X-Served-By'];
    if (instance) servedBy.add(1, { instance });
  }
}

/** Each VU keeps one user per variant for the whole run; VUs take the demo users in turn. */
const users = new Map<Variant, SessionUser>();

function userFor(target: Target): SessionUser {
  let user = users.get(target.variant);
  if (!user) {
    user = new SessionUser(target, USERS[exec.vu.idInTest % USERS.length]!);
    users.set(target.variant, user);
  }
  return user;
}

/** The continuity workload's iteration: log in if needed, read the session, bump its counter. */
export function continuityIteration(target: Target): void {
  const user = userFor(target);
  if (!user.loggedIn && !user.login()) return;
  if (user.readSession()) user.bumpVisits();
}
