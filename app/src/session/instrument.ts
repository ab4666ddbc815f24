import type { Metrics } from '../metrics';
import type { SessionStore } from './types';

const PROMISE_OPERATIONS = [
  'incrementVisits',
  'addToCart',
  'removeFromCart',
  'extend',
  'register',
  'listForUser',
  'end',
  'endReason',
  'countLive',
  'reauthenticate',
  'activity',
  'stats',
] as const;

// express-session calls these with a callback as the last argument.
const CALLBACK_OPERATIONS = ['get', 'set', 'destroy'] as const;

type AnyFn = (...args: unknown[]) => unknown;

/** Records latency and failures of every store operation, whatever the store. */
export function instrumentStore<S extends SessionStore>(store: S, metrics: Metrics): S {
  const methods = store as unknown as Record<string, AnyFn>;
  for (const operation of PROMISE_OPERATIONS) {
    const original = methods[operation]!.bind(store);
    methods[operation] = async (...args: unknown[]) => {
      const stop = metrics.storeDuration.startTimer({ operation });
      try {
        return await original(...args);
      } catch (err) {
        metrics.storeErrors.inc({ operation });
        throw err;
      } finally {
        stop();
      }
    };
  }
  for (const operation of CALLBACK_OPERATIONS) {
    const original = methods[operation]!.bind(store);
    methods[operation] = (...args: unknown[]) => {
      const stop = metrics.storeDuration.startTimer({ operation });
      const cb = typeof args.at(-1) === 'function' ? (args.pop() as AnyFn) : undefined;
      return original(...args, (err: unknown, ...rest: unknown[]) => {
        stop();
        if (err) metrics.storeErrors.inc({ operation });
        cb?.(err, ...rest);
      });
    };
  }
  return store;
}
