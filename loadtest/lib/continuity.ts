// Did the session's counter continue? The one rule both runtimes apply: the k6 session user (session-user.ts)
// and the test suites' probe (test/cluster/probe.ts). Plain TypeScript: no k6 or Node imports.

/**
 * How a counter answered to a POST compares with the last one seen:
 * - `continued`: exactly +1, or up to +1 more per POST in between that got no answer (it may have landed
 *   before failing);
 * - `stale`: less, or a reset: acknowledged writes were lost;
 * - `late`: further than the unanswered POSTs allow: one of them, or one answered out of order, was applied
 *   after a later one.
 */
export function counterStep(last: number, next: number, unanswered: number): 'continued' | 'stale' | 'late' {
  if (next < last + 1) return 'stale';
  if (next > last + 1 + unanswered) return 'late';
  return 'continued';
}
