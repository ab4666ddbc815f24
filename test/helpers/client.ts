import request, { type Response } from 'supertest';
/** Anything with a base URL: an in-process instance, or nginx in front of the compose cluster. */
export interface Target {
  url: string;
}

export const DEMO_USERS = {
  alice: 'wonderland',
  bob: 'builder-bob',
  carol: 'carol-sings',
  admin: 'root-of-trust',
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
  /** Every cookie the server set (the session's, and nginx's sticky route cookie in the sticky variant). */
  readonly cookies = new Map<string, Cookie>();
  csrfToken = '';

  constructor(
    private readonly cookieName = 'sc.sid',
    private readonly userAgent = 'jest-test-client',
    /** Sent as X-Forwarded-For (to an instance with TRUST_PROXY): the client's address, for the login limiter. */
    private readonly address?: string,
  ) {}

  /** The session cookie. */
  get cookie(): Cookie | undefined {
    return this.cookies.get(this.cookieName);
  }

  set cookie(value: Cookie | undefined) {
    if (value) this.cookies.set(this.cookieName, value);
    else this.cookies.delete(this.cookieName);
  }

  private remember(res: Response): Response {
    const setCookies = ([] as string[]).concat(res.headers['set-cookie'] ?? []);
    for (const raw of setCookies) {
      const [pair, ...attrs] = raw.split(';').map((p) => p.trim());
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq);
      const value = pair!.slice(eq + 1);
      const expiresAttr = attrs.find((a) => a.toLowerCase().startsWith('expires='));
      const expires = expiresAttr ? new Date(expiresAttr.slice('expires='.length)) : undefined;
      if (value === '' || (expires && expires.getTime() <= Date.now())) this.cookies.delete(name);
      else this.cookies.set(name, { value, expires, raw });
    }
    return res;
  }

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    const headers: Record<string, string> = { 'user-agent': this.userAgent, ...(this.address ? { 'x-forwarded-for': this.address } : {}), ...extra };
    if (this.cookies.size > 0) headers.cookie = [...this.cookies].map(([name, c]) => `${name}=${c.value}`).join('; ');
    return headers;
  }

  async get(on: Target, path: string): Promise<Response> {
    return this.remember(await request(on.url).get(path).set(this.headers()));
  }

  async post(on: Target, path: string, body?: object, headers: Record<string, string> = {}): Promise<Response> {
    const req = request(on.url).post(path).set(this.headers({ 'x-csrf-token': this.csrfToken, ...headers }));
    return this.remember(await (body === undefined ? req : req.send(body)));
  }

  async delete(on: Target, path: string, headers: Record<string, string> = {}): Promise<Response> {
    return this.remember(await request(on.url).delete(path).set(this.headers({ 'x-csrf-token': this.csrfToken, ...headers })));
  }

  /** Logs in and keeps the cookie and CSRF token; fails the test unless the login succeeds. */
  async login(on: Target, username: DemoUser = 'alice'): Promise<Response> {
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
