import type { Response } from 'supertest';

/** The session cookie a response sets, if any: its value and the instant its Expires attribute names. */
export function setSessionCookie(res: Response, name = 'sc.sid'): { value: string; expires?: number } | undefined {
  const headers = ([] as string[]).concat(res.headers['set-cookie'] ?? []);
  const raw = headers.find((h) => h.startsWith(`${name}=`));
  if (!raw) return undefined;
  const [pair, ...attrs] = raw.split(';').map((p) => p.trim());
  const expires = attrs.find((a) => a.toLowerCase().startsWith('expires='));
  return { value: pair!.slice(name.length + 1), expires: expires ? Date.parse(expires.slice('expires='.length)) : undefined };
}
