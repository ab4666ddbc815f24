import type { ApiError } from './types.js';

/** One request as the strip shows it: which instance answered (X-Served-By), or none did. */
export interface Exchange {
  method: string;
  path: string;
  /** 0 when nothing answered (network error or timeout). */
  status: number;
  servedBy: string | null;
  at: number;
}

export type ApiResult<T> =
  | { ok: true; status: number; body: T; servedBy: string | null }
  | { ok: false; status: number; error: ApiError; servedBy: string | null };

// nginx gives up on a dead instance after 1 s and tries the next; a request still open after this is lost.
const TIMEOUT_MS = 5000;

function isApiError(value: unknown): value is ApiError {
  return typeof value === 'object' && value !== null && typeof (value as ApiError).error === 'string';
}

/** fetch for the JSON API: same-origin cookie, CSRF header on writes, every exchange reported. */
export class Api {
  csrfToken = '';
  private readonly listeners: Array<(exchange: Exchange) => void> = [];

  onExchange(listener: (exchange: Exchange) => void): void {
    this.listeners.push(listener);
  }

  async request<T>(method: string, path: string, body?: unknown): Promise<ApiResult<T>> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (method !== 'GET' && this.csrfToken) headers['x-csrf-token'] = this.csrfToken;
    let res: Response;
    try {
      res = await fetch(path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: 'same-origin',
        cache: 'no-store',
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
    } catch {
      this.report({ method, path, status: 0, servedBy: null, at: Date.now() });
      return { ok: false, status: 0, servedBy: null, error: { error: 'no_answer', message: 'no answer from the load balancer' } };
    }
    const servedBy = res.headers.get('x-served-by');
    this.report({ method, path, status: res.status, servedBy, at: Date.now() });
    const text = await res.text().catch(() => '');
    let parsed: unknown = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      parsed = null; // an HTML error page from nginx, say
    }
    if (res.ok) return { ok: true, status: res.status, body: parsed as T, servedBy };
    const error = isApiError(parsed)
      ? parsed
      : { error: `http_${res.status}`, message: `${res.status} ${res.statusText} from ${servedBy ?? 'the load balancer'}` };
    return { ok: false, status: res.status, error, servedBy };
  }

  private report(exchange: Exchange): void {
    for (const listener of this.listeners) listener(exchange);
  }
}
