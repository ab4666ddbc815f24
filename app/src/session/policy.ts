import type { SessionPolicy } from '../config';
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

/** Applies SESSION_POLICY after a login: the oldest of the user's other sessions are revoked first. Returns how many. */
export async function enforcePolicy(store: SessionStore, policy: SessionPolicy, userId: string, newSid: string): Promise<number> {
  const allowed = othersAllowed(policy);
  if (allowed === Number.POSITIVE_INFINITY) return 0;
  const others = (await store.listForUser(userId))
    .filter((s) => s.sid !== newSid)
    .sort((a, b) => b.createdAt - a.createdAt);
  const excess = others.slice(allowed);
  await Promise.all(excess.map((s) => store.end(userId, s.sid, 'revoked', s.expiresAt)));
  return excess.length;
}
