import { createHash } from 'node:crypto';

/** A non-secret, stable name for a session: a digest of its id. Raw ids never leave the server. */
export function sessionHandle(sid: string): string {
  return createHash('sha256').update(sid).digest('base64url').slice(0, 22);
}
