import { createHmac, timingSafeEqual } from 'node:crypto';

/*
 * The CSRF token is not stored: it is an HMAC of the session id, so only the server can compute it, a new
 * session id (every login) gets a new one, and it tells nothing about the id. Like the cookie's signature,
 * the first of SESSION_SECRETS issues tokens and every one is accepted, so a rotation keeps tokens valid.
 */
const TOKEN_BYTES = 24; // 192 bits: 32 base64url characters, the length the stored tokens had

// The key of each secret, derived once: it is the same for every request (one HMAC per check, not two).
const keys = new Map<string, Buffer>();

function derive(secret: string, sid: string): string {
  // A key of its own per secret: an HMAC of the id with the secret itself is the cookie's signature.
  let key = keys.get(secret);
  if (!key) keys.set(secret, (key = createHmac('sha256', secret).update('csrf-token').digest()));
  return createHmac('sha256', key).update(sid).digest().subarray(0, TOKEN_BYTES).toString('base64url');
}

/** The token the session's state-changing requests must echo in X-CSRF-Token. */
export function csrfToken(sid: string, secrets: readonly string[]): string {
  return derive(secrets[0]!, sid);
}

/**
 * Whether `given` is the session's token under any of the secrets, or the token a session created by an
 * earlier version carries in its data (`stored`, until those sessions expire).
 */
export function isCsrfToken(given: string, sid: string, secrets: readonly string[], stored?: string): boolean {
  const accepted = secrets.map((secret) => derive(secret, sid));
  if (stored) accepted.push(stored);
  const givenBytes = Buffer.from(given);
  return accepted.some((token) => {
    const tokenBytes = Buffer.from(token);
    return tokenBytes.length === givenBytes.length && timingSafeEqual(tokenBytes, givenBytes);
  });
}
