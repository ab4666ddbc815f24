// 01 · smoke: a few users walk the whole HTTP contract against one variant (TARGET=redis|sticky|cluster) for 20 s.
// Every check must pass and no request may fail; anything else means the cluster is not fit to be measured.
//   k6 run loadtest/01.smoke.ts                      # http://127.0.0.1:8080
//   k6 run -e TARGET=sticky loadtest/01.smoke.ts     # http://127.0.0.1:8081
//   k6 run -e TARGET=cluster loadtest/01.smoke.ts    # http://127.0.0.1:8082 (the redis-cluster profile)
import http from 'k6/http';
import { check, sleep } from 'k6';
import exec from 'k6/execution';
import { selectedTarget, USERS } from './lib/config.ts';
import { smoke } from './lib/load-shapes.ts';
import { servedBy } from './lib/metrics.ts';
import { checkTarget } from './lib/setup.ts';
import { observed, SUMMARY_TREND_STATS, summaryHandler, thresholds } from './lib/summary.ts';
import { latency } from './lib/thresholds.ts';

const target = selectedTarget();
const JSON_HEADERS = { 'Content-Type': 'application/json' };

export const options = {
  scenarios: { smoke: { ...smoke(), tags: { variant: target.variant } } },
  summaryTrendStats: SUMMARY_TREND_STATS,
  thresholds: thresholds(observed([target]), latency(target), {
    checks: ['rate==1'],
    http_req_failed: ['rate==0'],
  }),
};

/** The target answers, or the run stops before it starts. One wrong password is tried here, once. */
export function setup(): void {
  checkTarget(target);
  const wrong = http.post(`${target.url}/api/login`, JSON.stringify({ username: 'alice', password: 'not-her-password' }), {
    headers: JSON_HEADERS,
    responseCallback: http.expectedStatuses(401),
  });
  check(wrong, { 'wrong password: 401 invalid_credentials': (r) => r.status === 401 && r.json('error') === 'invalid_credentials' });
}

const expect = (status: number) => ({ responseCallback: http.expectedStatuses(status) });

export default function (): void {
  const user = USERS[exec.vu.idInTest % USERS.length]!;
  const jar = new http.CookieJar();
  const base = { jar, tags: { kind: 'api' } };
  const served = (r: { headers: Record<string, string> }) => {
    const instance = r.headers['X-Served-By'];
    if (instance) servedBy.add(1, { instance });
    return target.instances.includes(instance ?? '');
  };

  const anonymous = http.get(`${target.url}/api/session`, { ...base, ...expect(401) });
  check(anonymous, { 'no cookie: 401 no_session': (r) => r.status === 401 && r.json('error') === 'no_session' });

  const login = http.post(`${target.url}/api/login`, JSON.stringify(user), { jar, headers: JSON_HEADERS, tags: { kind: 'login' } });
  const ok = check(login, {
    'login: 200': (r) => r.status === 200,
    'login: csrf token': (r) => typeof r.json('csrfToken') === 'string',
    'login: session cookie': () => (jar.cookiesForURL(target.url)[target.cookieName] ?? []).length === 1,
    'login: X-Served-By names an instance': served,
  });
  if (!ok) return;
  const csrf = login.json('csrfToken') as string;
  const withCsrf = { ...base, headers: { ...JSON_HEADERS, 'X-CSRF-Token': csrf } };

  const session = http.get(`${target.url}/api/session`, base);
  check(session, {
    'session: 200, this user': (r) => r.status === 200 && r.json('user.username') === user.username,
    'session: servedBy = X-Served-By': (r) => r.json('servedBy') === r.headers['X-Served-By'],
    'session: no raw id in the body': (r) => !String(r.body).includes(String(jar.cookiesForURL(target.url)[target.cookieName]?.[0]).slice(4, 36)),
  });

  const noCsrf = http.post(`${target.url}/api/visits`, null, { ...base, ...expect(403) });
  check(noCsrf, { 'visits without csrf: 403 csrf_invalid': (r) => r.status === 403 && r.json('error') === 'csrf_invalid' });
  const first = http.post(`${target.url}/api/visits`, null, withCsrf);
  const second = http.post(`${target.url}/api/visits`, null, withCsrf);
  check(second, {
    'visits: +1 per call': (r) => r.status === 200 && r.json('visits') === (first.json('visits') as number) + 1,
    'visits: X-Served-By names an instance': served,
  });

  const added = http.post(`${target.url}/api/cart/items`, JSON.stringify({ productId: 'tea', quantity: 2 }), withCsrf);
  check(added, { 'cart: item added': (r) => r.status === 200 && JSON.stringify(r.json('items')).includes('"tea"') });
  const cart = http.get(`${target.url}/api/cart`, base);
  check(cart, { 'cart: read back': (r) => r.status === 200 && JSON.stringify(r.json('items')).includes('"tea"') });

  const sessions = http.get(`${target.url}/api/sessions`, base);
  check(sessions, { 'sessions: lists the current one': (r) => r.status === 200 && JSON.stringify(r.json()).includes('"current":true') });

  const logout = http.post(`${target.url}/api/logout`, null, withCsrf);
  check(logout, { 'logout: 204': (r) => r.status === 204 });
  const after = http.get(`${target.url}/api/session`, { ...base, ...expect(401) });
  check(after, { 'after logout: 401': (r) => r.status === 401 });
  sleep(1);
}

export const handleSummary = summaryHandler('01.smoke', [target]);
