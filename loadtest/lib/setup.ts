import http from 'k6/http';
import { fail } from 'k6';
import type { Target } from './config.ts';

/** Stops the run before it starts when a target does not answer: a load test against nothing measures nothing. */
export function checkTarget(target: Target): void {
  const res = http.get(`${target.url}/healthz`, { tags: { kind: 'setup' } });
  if (res.status !== 200) fail(`${target.url}/healthz answered ${res.status || res.error}: is the ${target.variant} stack up?`);
}
