import { randomBytes } from 'node:crypto';
import http, { type IncomingHttpHeaders } from 'node:http';
import { sign } from 'cookie-signature';
import request, { type Response } from 'supertest';
import { SessionKeys } from '../../app/src/session/keys';
import { APP_SERVICES, REDIS_NODE_PORTS } from '../../toolkit/services';
import { replicaOrder } from '../../toolkit/steady';
import { sleep } from '../../toolkit/time';
import { TestClient } from '../helpers/client';
import { reportFigures } from '../helpers/stack';
import { clusterCompose, clusterInfo } from './cluster';

/**
 * Scenario 7: abuse through nginx against the compose stack: brute force spread over the three apps,
 * session fixation and logout, the cookie, cross-site requests, security headers and nginx's own bounds.
 */
describe('scenario 7: abuse through nginx', () => {
  const compose = clusterCompose();
  const { httpUrl, stickyUrl } = clusterInfo();
  const target = { url: httpUrl };
  // The compose file's public demo secret, unless the run set its own.
  const signingSecret = (process.env.SESSION_SECRETS ?? 'session-cluster-demo-secret-change-me').split(',')[0]!.trim();

  /** The service Sentinel names as primary now (a failover test may have swapped the roles). */
  const primary = () => compose.sentinelPrimary();

  /** `docker compose exec <primary> redis-cli …`, as a person would look. */
  function redisCli(...args: string[]): string {
    const node = primary();
    return compose.run(['exec', '-T', node, 'redis-cli', '-p', String(REDIS_NODE_PORTS[node]), ...args]).trim();
  }

  const sidOf = (cookieValue: string) => {
    const decoded = decodeURIComponent(cookieValue);
    return decoded.slice(2, decoded.lastIndexOf('.'));
  };

  /** Sends the cookie through nginx until each app has answered it; returns each app's status. */
  async function answerOfEveryApp(cookieValue: string): Promise<Record<string, number>> {
    const seen: Record<string, number> = {};
    for (let i = 0; i < 30 && Object.keys(seen).length < APP_SERVICES.length; i++) {
      const res = await request(httpUrl).get('/api/session').set('cookie', `sc.sid=${cookieValue}`);
      seen[String(res.headers['x-served-by'])] = res.status;
    }
    return seen;
  }

  test('when one client fails LOGIN_MAX_FAILURES logins through nginx, then the next attempts get 429 with Retry-After from every app, a forged X-Forwarded-For does not help, and the count is replicated', async () => {
    const username = `brute-${randomBytes(4).toString('hex')}`;
    const attempt = (i: number) =>
      request(httpUrl)
        .post('/api/login')
        // nginx appends the real address and the apps trust one hop: this header changes nothing.
        .set('x-forwarded-for', `203.0.113.${i}`)
        .send({ username, password: `guess-${i}` });

    const failures: Response[] = [];
    for (let i = 1; i <= 10; i++) failures.push(await attempt(i));
    const blocked: Response[] = [];
    for (let i = 11; i <= 16; i++) blocked.push(await attempt(i));
    const [key] = redisCli('--scan', '--pattern', `login-failures:*|${username}`).split('\n');
    const count = redisCli('get', key!);
    const ttl = Number(redisCli('ttl', key!));
    const replica = replicaOrder(primary())[0]!;
    let replicated = '';
    // Replication is asynchronous, and just after the stack came up the replica may still be syncing.
    for (const until = Date.now() + 15_000; Date.now() < until && replicated !== count; ) {
      replicated = compose.redisCli(replica, 'get', key!);
      if (replicated !== count) await sleep(100);
    }

    const servedFailures = new Set(failures.map((r) => r.headers['x-served-by']));
    const servedBlocked = new Set(blocked.map((r) => r.headers['x-served-by']));
    const retryAfter = blocked.map((r) => Number(r.headers['retry-after']));
    reportFigures('abuse: login brute force through nginx', {
      failures: failures.map((r) => r.status).join(' '),
      after: blocked.map((r) => r.status).join(' '),
      retryAfterS: retryAfter,
      servedBy: [...servedBlocked].sort(),
      counter: { key: key!.replace(/\|.*/, '|…'), count, ttlS: ttl, onReplica: replicated },
    });
    expect(failures.map((r) => r.status)).toEqual(Array(10).fill(401));
    expect(blocked.map((r) => r.status)).toEqual(Array(6).fill(429));
    expect(blocked.map((r) => r.body.error)).toEqual(Array(6).fill('too_many_attempts'));
    expect(servedFailures).toEqual(new Set(APP_SERVICES));
    expect(servedBlocked).toEqual(new Set(APP_SERVICES));
    for (const seconds of retryAfter) {
      expect(seconds).toBeGreaterThan(850);
      expect(seconds).toBeLessThanOrEqual(900);
    }
    expect(key).toMatch(new RegExp(`^login-failures:[0-9.]+\\|${username}$`));
    expect(key).not.toContain('203.0.113.');
    expect(count).toBe('16');
    expect(ttl).toBeGreaterThan(850);
    expect(replicated).toBe(count);
  });

  test('when a session id is planted before login, then login issues a new one; after logout the old cookie is refused by all three apps and its Redis key is gone', async () => {
    // An attacker's own valid session, planted in the victim's browser.
    const attacker = new TestClient();
    await attacker.login(target, 'bob');
    const planted = attacker.cookie!.value;
    const victim = new TestClient();
    victim.cookie = { value: planted, raw: '' };
    // And an id the attacker made up and signed (the demo secret is public), never stored.
    const madeUp = randomBytes(24).toString('base64url');
    const forged = new TestClient();
    forged.cookie = { value: encodeURIComponent(`s:${sign(madeUp, signingSecret)}`), raw: '' };

    await victim.login(target, 'alice');
    await forged.login(target, 'carol');
    const victimSid = victim.sessionId();
    const plantedAfterLogin = await answerOfEveryApp(planted);
    const keysAfterLogin = { planted: redisCli('exists', `sess:${sidOf(planted)}`), madeUp: redisCli('exists', `sess:${madeUp}`), victim: redisCli('exists', `sess:${victimSid}`) };
    const oldCookie = victim.cookie!.value;
    const logout = await victim.post(target, '/api/logout');
    const afterLogout = await answerOfEveryApp(oldCookie);
    const keyAfterLogout = redisCli('exists', `sess:${victimSid}`);
    const indexedAfterLogout = redisCli('zscore', new SessionKeys(signingSecret).userIndexKey('u-alice'), victimSid);

    reportFigures('abuse: fixation and logout through nginx', { plantedAfterLogin, keysAfterLogin, afterLogout, keyAfterLogout });
    expect(victimSid).not.toBe(sidOf(planted));
    expect(forged.sessionId()).not.toBe(madeUp);
    expect(plantedAfterLogin).toEqual({ 'app-1': 401, 'app-2': 401, 'app-3': 401 });
    expect(keysAfterLogin).toEqual({ planted: '0', madeUp: '0', victim: '1' });
    expect(logout.status).toBe(204);
    expect(afterLogout).toEqual({ 'app-1': 401, 'app-2': 401, 'app-3': 401 });
    expect(keyAfterLogout).toBe('0');
    expect(indexedAfterLogout).toBe('');
  });

  test('when a user logs in through nginx, then the cookie is sc.sid, HttpOnly, SameSite=Lax, host-only, and not Secure over http even if the client claims https', async () => {
    const plain = await request(httpUrl).post('/api/login').send({ username: 'carol', password: 'carol-sings' });
    const claimed = await request(httpUrl).post('/api/login').set('x-forwarded-proto', 'https').send({ username: 'carol', password: 'carol-sings' });
    const sticky = await request(stickyUrl).post('/api/login').send({ username: 'carol', password: 'carol-sings' });

    const cookies = (res: Response) => ([] as string[]).concat(res.headers['set-cookie'] ?? []);
    // Attribute names are case-insensitive (nginx writes its own in lower case).
    const attributes = (raw: string) => raw.split('; ').slice(1).map((a) => a.toLowerCase()).filter((a) => !a.startsWith('expires=')).sort();
    reportFigures('abuse: cookie through nginx', { cookie: cookies(plain)[0]?.replace(/=s%3A[^;]*/, '=s%3A…'), sticky: cookies(sticky).map((c) => c.replace(/=[^;]*/, '=…')) });
    for (const res of [plain, claimed]) {
      expect(res.status).toBe(200);
      expect(cookies(res)).toHaveLength(1);
      expect(cookies(res)[0]).toMatch(/^sc\.sid=s%3A/);
      expect(attributes(cookies(res)[0]!)).toEqual(['httponly', 'path=/', 'samesite=lax']);
    }
    const stickyCookies = Object.fromEntries(cookies(sticky).map((raw) => [raw.slice(0, raw.indexOf('=')), attributes(raw)]));
    expect(stickyCookies).toEqual({ 'sc.sticky.sid': ['httponly', 'path=/', 'samesite=lax'], 'sc.route': ['httponly', 'path=/', 'samesite=lax'] });
    expect(JSON.stringify([plain.headers, sticky.headers])).not.toContain('connect.sid');
  });

  test('when a state-changing request comes from another site through nginx, then 403 cross_site_request; the page itself (Origin = the nginx address) passes', async () => {
    const credentials = { username: 'alice', password: 'wonderland' };
    const crossSite = await request(httpUrl).post('/api/login').set('sec-fetch-site', 'cross-site').send(credentials);
    const otherOrigin = await request(httpUrl).post('/api/login').set('origin', 'http://evil.example').send(credentials);
    const client = new TestClient();
    await client.login(target);
    const forgedVisit = await client.post(target, '/api/visits', undefined, { origin: 'http://evil.example' });
    const ownPage = await client.post(target, '/api/visits', undefined, { origin: httpUrl, 'sec-fetch-site': 'same-origin' });

    for (const res of [crossSite, otherOrigin, forgedVisit]) {
      expect([res.status, res.body.error]).toEqual([403, 'cross_site_request']);
      expect(res.headers['set-cookie']).toBeUndefined();
    }
    expect(ownPage.status).toBe(200);
    expect(ownPage.body.visits).toBe(1);
  });

  test('when any kind of answer comes back through nginx (page, static file, API, 401, 404, 400, 403, 429, metrics), then it carries the security headers and no server version', async () => {
    const client = new TestClient();
    await client.login(target);
    const blockedName = `headers-${randomBytes(4).toString('hex')}`;
    for (let i = 0; i < 10; i++) await request(httpUrl).post('/api/login').send({ username: blockedName, password: 'x' });
    const answers: Record<string, Response> = {
      'GET /': await request(httpUrl).get('/'),
      'GET /dashboard.css': await request(httpUrl).get('/dashboard.css'),
      'GET /js/dashboard.js': await request(httpUrl).get('/js/dashboard.js'),
      'GET /favicon.svg': await request(httpUrl).get('/favicon.svg'),
      'GET /api/session (200)': await client.get(target, '/api/session'),
      'GET /api/session (401)': await request(httpUrl).get('/api/session'),
      'GET /nope (404)': await request(httpUrl).get('/nope'),
      'GET /api/nope (404)': await request(httpUrl).get('/api/nope'),
      'POST /api/login bad JSON (400)': await request(httpUrl).post('/api/login').set('content-type', 'application/json').send('{'),
      'POST /api/visits no token (403)': await client.post(target, '/api/visits', undefined, { 'x-csrf-token': '' }),
      'POST /api/login (429)': await request(httpUrl).post('/api/login').send({ username: blockedName, password: 'x' }),
      'GET /api/cluster': await request(httpUrl).get('/api/cluster'),
      'GET /metrics': await request(httpUrl).get('/metrics'),
      'GET /healthz': await request(httpUrl).get('/healthz'),
      'GET /readyz': await request(httpUrl).get('/readyz'),
    };
    const expected = {
      'content-security-policy': expect.stringContaining("default-src 'self'"),
      'x-content-type-options': 'nosniff',
      'x-frame-options': 'SAMEORIGIN',
      'referrer-policy': 'no-referrer',
      'cross-origin-opener-policy': 'same-origin',
      'cross-origin-resource-policy': 'same-origin',
      server: 'nginx',
    };

    const statuses = Object.fromEntries(Object.entries(answers).map(([what, res]) => [what, res.status]));
    reportFigures('abuse: security headers through nginx', { statuses });
    expect(statuses['POST /api/login (429)']).toBe(429);
    for (const [what, res] of Object.entries(answers)) {
      const got = Object.fromEntries(Object.keys(expected).map((name) => [name, res.headers[name]]));
      expect({ what, ...got, 'x-powered-by': res.headers['x-powered-by'] }).toEqual({ what, ...expected, 'x-powered-by': undefined });
    }
  });

  /**
   * A POST that declares a `bytes`-long body and sends only its headers: nginx refuses it on the declared
   * length alone. Sending the body as well races nginx's early 413: nginx closes with body bytes unread, and
   * the client can see its connection reset ("aborted") instead of the answer.
   */
  function postDeclaringBody(path: string, bytes: number): Promise<{ status: number; headers: IncomingHttpHeaders; text: string }> {
    return new Promise((resolve, reject) => {
      const req = http.request(`${httpUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': bytes } });
      req.on('response', (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => {
          req.destroy();
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text });
        });
      });
      req.on('error', reject);
      req.flushHeaders();
    });
  }

  /**
   * The status of a GET with these headers, from its status line alone. Node answers 431 to headers past its
   * limit and closes the socket with the rest of them unread, so the kernel resets the connection; when the
   * reset reaches nginx before the end of the answer, nginx cuts the client's copy short and a full-response
   * client says "aborted" (CI run 43) although the status had arrived.
   */
  function statusOfGet(path: string, headers: Record<string, string>): Promise<number> {
    return new Promise((resolve, reject) => {
      const req = http.get(`${httpUrl}${path}`, { headers }, (res) => {
        resolve(res.statusCode ?? 0);
        res.on('error', () => undefined);
        res.resume();
        req.destroy();
      });
      req.on('error', reject);
    });
  }

  test('when a header or the body is too large, then nginx refuses it itself (400, 413) and the apps never see it; headers too large in all get Node\'s 431', async () => {
    const oneHugeHeader = await request(httpUrl).get('/api/session').set('x-padding', 'a'.repeat(9 * 1024));
    const hugeCookie = await request(httpUrl).get('/api/session').set('cookie', `sc.sid=${'b'.repeat(9 * 1024)}`);
    const manyHeaders = await statusOfGet('/api/session', Object.fromEntries(Array.from({ length: 3 }, (_, i) => [`x-padding-${i}`, 'c'.repeat(7 * 1024)])));
    const hugeBody = await postDeclaringBody('/api/login', 70 * 1024);
    const afterwards = await request(httpUrl).get('/healthz');

    reportFigures('abuse: nginx bounds', {
      oneHeader9KB: oneHugeHeader.status,
      cookie9KB: hugeCookie.status,
      headers21KB: manyHeaders,
      body70KB: hugeBody.status,
    });
    for (const res of [oneHugeHeader, hugeCookie, hugeBody]) {
      expect(res.headers.server).toBe('nginx');
      expect(res.headers['x-served-by']).toBeUndefined();
      expect(res.text).not.toMatch(/nginx\/\d/);
    }
    expect(oneHugeHeader.status).toBe(400);
    expect(oneHugeHeader.text).toContain('Request Header Or Cookie Too Large');
    expect(hugeCookie.status).toBe(400);
    expect(manyHeaders).toBe(431);
    expect(hugeBody.status).toBe(413);
    expect(afterwards.status).toBe(200);
  });
});
