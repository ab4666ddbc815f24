// The project's custom metrics, all prefixed `sc_`. Scenario tags add `variant` (redis | sticky) to every
// sample, so thresholds and reports can split them: sc_session_lost{variant:redis}.
import { Counter, Rate } from 'k6/metrics';

/**
 * A session that did not continue: its cookie was answered 401/403 (reason=gone), or its visits counter
 * came back lower than the last value this user saw (reason=stale: the store lost acknowledged writes).
 */
export const sessionLost = new Counter('sc_session_lost');

/** One sample per answered continuity probe: true when the counter went on from the previous value. */
export const continuity = new Rate('sc_continuity');

/** Responses per instance, from X-Served-By (tag instance=app-1 …). */
export const servedBy = new Counter('sc_served_by');

/** Logins: kind=first for a VU's first session, kind=again after a lost one. */
export const logins = new Counter('sc_logins');
