import type { FigureHistory, InstanceFigures } from '../http-contract';

/** How far back an instance remembers its own figures: the live view's chart is two minutes wide. */
export const HISTORY_SECONDS = 120;

// Latency buckets (upper bounds, ms): p95 is reported as the bound of the bucket that holds it, so a request
// costs one counter increment and a short search, never a sort or an allocation.
const BOUNDS_MS = [1, 2, 3, 5, 7, 10, 15, 20, 30, 50, 70, 100, 150, 200, 300, 500, 700, 1000, 1500, 2000, 3000, 5000, 10_000];

interface Second {
  /** Epoch second this slot holds, or -1 for none yet. */
  second: number;
  requests: number;
  errors: number;
  buckets: Uint32Array;
}

/**
 * Requests, 5xx answers and latency per second, for the last HISTORY_SECONDS seconds, in a ring of slots
 * reused as time moves on. What the heartbeat publishes and what the instance shows of itself.
 */
export class RequestFigures {
  private readonly slots: Second[] = Array.from({ length: HISTORY_SECONDS + 1 }, () => ({
    second: -1,
    requests: 0,
    errors: 0,
    buckets: new Uint32Array(BOUNDS_MS.length + 1),
  }));

  constructor(private readonly clock: () => number = Date.now) {}

  /** One answered request, counted in the second it finished. */
  record(durationMs: number, status: number): void {
    const slot = this.slotFor(Math.floor(this.clock() / 1000));
    slot.requests += 1;
    if (status >= 500) slot.errors += 1;
    let bucket = 0;
    while (bucket < BOUNDS_MS.length && durationMs > BOUNDS_MS[bucket]!) bucket += 1;
    slot.buckets[bucket]! += 1;
  }

  /** The last complete second: what a heartbeat publishes. */
  lastSecond(): InstanceFigures {
    const second = Math.floor(this.clock() / 1000) - 1;
    return this.figuresOf(second);
  }

  /** The last HISTORY_SECONDS complete seconds, oldest first; seconds without requests count zero. */
  history(): FigureHistory {
    const last = Math.floor(this.clock() / 1000) - 1;
    const from = last - HISTORY_SECONDS + 1;
    const history: FigureHistory = { from: new Date(from * 1000).toISOString(), requests: [], errors: [], p95Ms: [] };
    for (let second = from; second <= last; second++) {
      const figures = this.figuresOf(second);
      history.requests.push(figures.requests);
      history.errors.push(figures.errors);
      history.p95Ms.push(figures.p95Ms);
    }
    return history;
  }

  private figuresOf(second: number): InstanceFigures {
    const slot = this.slots[second % this.slots.length]!;
    const held = slot.second === second;
    return {
      second: new Date(second * 1000).toISOString(),
      requests: held ? slot.requests : 0,
      errors: held ? slot.errors : 0,
      p95Ms: held ? p95(slot) : null,
    };
  }

  private slotFor(second: number): Second {
    const slot = this.slots[second % this.slots.length]!;
    if (slot.second !== second) {
      slot.second = second;
      slot.requests = 0;
      slot.errors = 0;
      slot.buckets.fill(0);
    }
    return slot;
  }
}

function p95(slot: Second): number | null {
  if (slot.requests === 0) return null;
  const rank = Math.ceil(slot.requests * 0.95);
  let seen = 0;
  for (let bucket = 0; bucket < slot.buckets.length; bucket++) {
    seen += slot.buckets[bucket]!;
    // Beyond the last bound: reported as that bound (the figure then reads "at least").
    if (seen >= rank) return BOUNDS_MS[Math.min(bucket, BOUNDS_MS.length - 1)]!;
  }
  return BOUNDS_MS.at(-1)!;
}
