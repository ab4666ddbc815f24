import request, { type Response } from 'supertest';
import type { TestInstance } from './instance';

export const DEMO_USERS = {
  alice: 'wonderland',
  bob: 'builder-bob',
  carol: 'carol-sings',
} as const;

export type DemoUser = keyof typeof DEMO_USERS;

interface Cookie {
  value: string;
  expires?: Date;
  raw: string;
}

/**
 * A browser-like client: one cookie jar and one CSRF token, usable against any instance, so a test
 * can log in on A and carry on against B exactly as round-robin does.
 */
export class TestClient {
  cookie: Cookie | undefined;
  csrfToken = '';

  constructor(
    private readonly cookieName = 'sc.sid',
    private readonly userAgent = 'jest-test-client',
  ) {}

  private remember(res: Response): Response {
    const setCookies = ([] as string[]).concat(res.headers['set-cookie'] ?? []);
    for (const raw of setCookies) {
      const [pair, ...attrs] = raw.split(';').map((p) => p.trim());
      const eq = pair!.indexOf('=');
      if (pair!.slice(0, eq) !== this.cookieName) continue;
      const value = pair!.slice(eq + 1);
      const expiresAttr = attrs.find((a) => a.toLowerCase().startsWith('expires='));
      const expires = expiresAttr ? new Date(expiresAttr.slice('expires='.length)) : undefined;
      this.cookie = value === '' || (expires && expires.getTime() <= Date.now()) ? undefined : { value, expires, raw };
    }
    return res;
  }

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    const headers: Record<string, string> = { 'user-agent': this.userAgent, ...extra };
    if (this.cookie) headers.cookie = `${this.cookieName}=${this.cookie.value}`;
    return headers;
  }

  async get(on: TestInstance, path: string): Promise<Response> {
    return this.remember(await request(on.url).get(path).set(this.headers()));
  }

  async post(on: TestInstance, path: string, body?: object, headers: Record<string, string> = {}): Promise<Response> {
    const req = request(on.url).post(path).set(this.headers({ 'x-csrf-token': this.csrfToken, ...headers }));
    return this.remember(await (body === undefined ? req : req.send(body)));
  }

  async delete(on: TestInstance, path: string, headers: Record<string, string> = {}): Promise<Response> {
    return this.remember(await request(on.url).delete(path).set(this.headers({ 'x-csrf-token': this.csrfToken, ...headers })));
  }

  /** Logs in and keeps the cookie and CSRF token; fails the test unless the login succeeds. */
  async login(on: TestInstance, username: DemoUser = 'alice'): Promise<Response> {
    const res = await this.post(on, '/api/login', { username, password: DEMO_USERS[username] });
    if (res.status !== 200) throw new Error(`login as ${username} failed: ${res.status} ${JSON.stringify(res.body)}`);
    this.csrfToken = res.body.csrfToken;
    return res;
  }

  /** The raw session id inside the signed cookie (for looking at Redis directly). */
  sessionId(): string {
    if (!this.cookie) throw new Error('no session cookie');
    const decoded = decodeURIComponent(this.cookie.value);
    return decoded.slice(2, decoded.lastIndexOf('.'));
  }
}
