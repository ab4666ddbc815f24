/** The figures of `npm run bench:app` (run.ts): one measurement per round, target and endpoint, and the ratios. */

export type TargetName = 'bare' | 'stock' | 'app-memory' | 'app-redis';

export interface Measurement {
  round: number;
  target: TargetName;
  endpoint: string;
  reqPerS: number;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
  errors: number;
  cpuUsPerRequest: number | null;
  redisCommandsPerRequest: number | null;
}

export function medianOf(values: (number | null)[]): number | null {
  const known = values.filter((v): v is number => v !== null && Number.isFinite(v)).sort((a, b) => a - b);
  if (known.length === 0) return null;
  const mid = Math.floor(known.length / 2);
  return known.length % 2 ? known[mid]! : (known[mid - 1]! + known[mid]!) / 2;
}

/** The ratios the report leads with; `goal`: issue 14's target for it, where it has one. */
export const RATIOS: { of: TargetName; to: TargetName; endpoint: string; goal?: number }[] = [
  { of: 'app-redis', to: 'stock', endpoint: 'GET /api/session', goal: 1.3 },
  { of: 'app-memory', to: 'stock', endpoint: 'GET /api/session', goal: 1.3 },
  { of: 'app-redis', to: 'app-memory', endpoint: 'GET /api/session', goal: 0.95 },
  { of: 'app-redis', to: 'stock', endpoint: 'POST /api/visits' },
  { of: 'app-redis', to: 'app-memory', endpoint: 'POST /api/visits' },
  { of: 'app-redis', to: 'bare', endpoint: 'GET /api/ping' },
  { of: 'stock', to: 'bare', endpoint: 'GET /api/ping' },
];

export interface RatioRow {
  label: string;
  endpoint: string;
  perRound: number[];
  median: number | null;
  goal?: string;
}

const round2 = (x: number) => Math.round(x * 100) / 100;

/** Each ratio of req/s within each round (both measured minutes apart at most), and the median of those. */
export function ratioRows(measurements: Measurement[]): RatioRow[] {
  const rate = (round: number, target: TargetName, endpoint: string) => measurements.find((m) => m.round === round && m.target === target && m.endpoint === endpoint)?.reqPerS;
  const rounds = [...new Set(measurements.map((m) => m.round))].sort((a, b) => a - b);
  return RATIOS.flatMap(({ of, to, endpoint, goal }) => {
    const perRound = rounds.flatMap((round) => {
      const [a, b] = [rate(round, of, endpoint), rate(round, to, endpoint)];
      return a !== undefined && b !== undefined && b > 0 ? [round2(a / b)] : [];
    });
    if (perRound.length === 0) return [];
    const median = medianOf(perRound);
    const verdict = goal === undefined || median === null ? undefined : `≥ ${goal}: ${median >= goal ? 'met' : 'not met'}`;
    return [{ label: `${of} / ${to}`, endpoint, perRound, median: median === null ? null : round2(median), goal: verdict }];
  });
}
