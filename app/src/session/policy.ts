import type { SessionPolicy } from '../config';
import type { ActivityEntry } from './activity';
import type { SessionStore } from './types';

/** How many of a user's other sessions may stay when one more starts. */
export function othersAllowed(policy: SessionPolicy): number {
  switch (policy.kind) {
    case 'multi':
      return Number.POSITIVE_INFINITY;
    case 'single':
      return 0;
    case 'max':
      return policy.max - 1;
  }
}

/**
 * Applies SESSION_POLICY after a login (the new session is already in the index): the user keeps only the
 * newest sessions, the oldest are revoked, each logging `entry`. Returns how many.
 * Newest by (createdAt, sid), not "this login's session first": with parallel logins each one would revoke
 * the others and none would survive; one order seen by every login leaves exactly the newest.
 */
export async function enforcePolicy(store: SessionStore, policy: SessionPolicy, userId: string, entry: ActivityEntry): Promise<number> {
  const allowed = othersAllowed(policy);
  if (allowed === Number.POSITIVE_INFINITY) return 0;
  const sessions = (await store.listForUser(userId)).sort((a, b) => b.createdAt - a.createdAt || (a.sid < b.sid ? 1 : -1));
  const excess = sessions.slice(allowed + 1);
  await Promise.all(excess.map((s) => store.end(userId, s.sid, 'revoked', s.expiresAt, entry)));
  return excess.length;
}
