import type { ActivityEntry } from '../../app/src/session/activity';
import type { ActivityAction } from '../../app/src/http-contract';

/** An activity entry as a request would make it (activity.ts activityOf), for tests that call a store directly. */
export function anEntry(action: ActivityAction = 'visit', detail?: Record<string, string | number>): ActivityEntry {
  return { a: action, t: Date.now(), s: 'store-test', ip: '127.0.0.1', ua: 'jest', ...(detail ? { d: detail } : {}) };
}
