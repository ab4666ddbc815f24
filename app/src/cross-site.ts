import type { Request, RequestHandler } from 'express';
import { HttpError } from './errors';

/** Methods that only read: a cross-site GET (a link, an image) is allowed, SameSite=Lax sends it too. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Fetch-Metadata values a browser sends for a request this site's own pages made (or a person typed). */
const OWN_SITE = new Set(['same-origin', 'none']);

/** The hostname and, when the Host header carries one, the port of the request's own origin. */
function ownHost(req: Request): { hostname: string; port?: string } | null {
  const host = req.headers.host;
  if (!host) return null;
  try {
    const url = new URL(`http://${host}`);
    return { hostname: url.hostname, port: /:\d+$/.test(host) ? url.port || '80' : undefined };
  } catch {
    return null;
  }
}

/** Why the request came from another site, or null when nothing says so. */
function crossSiteReason(req: Request): string | null {
  const site = req.get('sec-fetch-site');
  if (site !== undefined && !OWN_SITE.has(site.toLowerCase())) return `Sec-Fetch-Site: ${site}`;
  const origin = req.get('origin');
  if (origin === undefined) return null;
  const own = ownHost(req);
  let from: URL;
  try {
    from = new URL(origin);
  } catch {
    return `Origin: ${origin}`; // "null" (a sandboxed frame, a privacy redirect) or garbage
  }
  if (!own || from.hostname !== own.hostname) return `Origin: ${origin}`;
  // nginx passes Host without the port ($host), so the port is compared only when the app sees one.
  if (own.port !== undefined && (from.port || (from.protocol === 'https:' ? '443' : '80')) !== own.port) return `Origin: ${origin}`;
  return null;
}

/**
 * Refuses state-changing requests that a browser says come from another site (Fetch Metadata), or whose
 * Origin is not this host: a second CSRF defence beside SameSite and the token, and the only one for
 * login (login CSRF) and logout, which take no token. Requests without those headers (curl, k6, old
 * browsers) pass and rely on the token as before.
 */
export const rejectCrossSite: RequestHandler = (req, _res, next) => {
  if (SAFE_METHODS.has(req.method)) {
    next();
    return;
  }
  const reason = crossSiteReason(req);
  if (reason) throw new HttpError(403, 'cross_site_request', `state-changing request from another site refused (${reason.slice(0, 200)})`);
  next();
};
