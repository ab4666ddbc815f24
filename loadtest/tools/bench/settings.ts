// The benchmark's settings, from its environment (BENCH_*, docs/benchmarks.md) and the run's length (--short).

/** A number from the environment, or `fallback` when unset or empty; throws on anything but a number ≥ 0. */
export function envNumber(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const value = Number(env[name] || fallback);
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a number, not "${env[name]}"`);
  return value;
}

export interface BenchSettings {
  /** The latency bound of "sustainable": p95 of the step's requests, in ms. */
  p95BoundMs: number;
  /** A step's iterations may fall short of rate × hold by this many: the VU clock and the executor's split the edges. */
  edgeTolerance: number;
  /** Failed requests a sustainable step may have, as a share. */
  maxFailed: number;
  /**
   * Every ramp and every equal-load phase runs this many times, sticky and Redis alternating, and the report
   * takes each one's best round: the machine's other work only ever lowers a rate or raises a latency.
   */
  rounds: number;
  k6Env: { VUS: number; SESSIONS: number; WRITE_EVERY: number; GAP_S: number };
  plan: Plan;
  /** BENCH_EQUAL_RATE: the equal-load phases' rate, so that separate runs (an A/B of an app setting) compare at one load; null: 50 % of sticky's maximum. */
  equalRate: number | null;
}

/**
 * Rates in requests/s; the coarse staircase multiplies by `factor` from `start`, the fine one covers
 * `from`..`to` × the coarse knee in `step`s. A ramp stops once `dropAbort` iterations have been dropped.
 */
export interface Plan {
  coarse: { start: number; factor: number; rampS: number; holdS: number };
  fine: { from: number; to: number; step: number; rampS: number; holdS: number } | null;
  dropAbort: number;
  steadyS: number;
  readsS: number;
  baselineRamp: boolean;
  scaling: boolean;
}

function plan(env: NodeJS.ProcessEnv, short: boolean): Plan {
  return short
    ? {
        coarse: { start: 100, factor: 1.6, rampS: 1, holdS: 3 },
        fine: null,
        dropAbort: 50,
        steadyS: envNumber(env, 'BENCH_STEADY_S', 8),
        readsS: 8,
        baselineRamp: false,
        scaling: false,
      }
    : {
        coarse: { start: 50, factor: 1.3, rampS: 2, holdS: 5 },
        fine: { from: 0.9, to: 1.6, step: 0.05, rampS: 2, holdS: 8 },
        dropAbort: 200,
        steadyS: envNumber(env, 'BENCH_STEADY_S', 60),
        readsS: 30,
        baselineRamp: true,
        scaling: true,
      };
}

export function benchSettings(env: NodeJS.ProcessEnv, short: boolean): BenchSettings {
  return {
    p95BoundMs: envNumber(env, 'BENCH_P95_MS', 50),
    edgeTolerance: 2,
    maxFailed: 0.001,
    rounds: Math.max(1, Math.round(envNumber(env, 'BENCH_ROUNDS', short ? 1 : 2))),
    k6Env: {
      VUS: envNumber(env, 'BENCH_VUS', 100),
      SESSIONS: envNumber(env, 'BENCH_SESSIONS', 30),
      WRITE_EVERY: envNumber(env, 'BENCH_WRITE_EVERY', 10),
      GAP_S: short ? 2 : 3,
    },
    plan: plan(env, short),
    equalRate: env.BENCH_EQUAL_RATE ? envNumber(env, 'BENCH_EQUAL_RATE', 0) : null,
  };
}
