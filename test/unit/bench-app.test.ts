import { medianOf, ratioRows, type Measurement } from '../../loadtest/app-bench/figures';
import { frameOwner, summarizeProfile, type CpuProfile } from '../../loadtest/app-bench/profile-summary';

const m = (round: number, target: Measurement['target'], endpoint: string, reqPerS: number): Measurement => ({
  round, target, endpoint, reqPerS, p50Ms: 1, p99Ms: 2, non2xx: 0, errors: 0, cpuUsPerRequest: null, redisCommandsPerRequest: null,
});

describe('bench:app figures', () => {
  test('the median of an odd and an even count, unknown values left out', () => {
    expect(medianOf([3, 1, 2])).toBe(2);
    expect(medianOf([4, 1, null, 2, 3])).toBe(2.5);
    expect(medianOf([null])).toBeNull();
  });

  test('a ratio is taken within each round, and the median of those is reported against its goal', () => {
    const rows = ratioRows([
      m(1, 'app-redis', 'GET /api/session', 1300), m(1, 'stock', 'GET /api/session', 1000),
      m(2, 'app-redis', 'GET /api/session', 900), m(2, 'stock', 'GET /api/session', 1000),
      m(3, 'app-redis', 'GET /api/session', 2800), m(3, 'stock', 'GET /api/session', 2000),
    ]);
    const row = rows.find((r) => r.label === 'app-redis / stock' && r.endpoint === 'GET /api/session');
    expect(row).toMatchObject({ perRound: [1.3, 0.9, 1.4], median: 1.3, goal: '≥ 1.3: met' });
    // Ratios with no measurements of one side are left out.
    expect(rows.find((r) => r.label === 'app-memory / stock')).toBeUndefined();
  });

  test('a goal missed says so', () => {
    const [row] = ratioRows([m(1, 'app-redis', 'GET /api/session', 700), m(1, 'stock', 'GET /api/session', 1000)]);
    expect(row).toMatchObject({ median: 0.7, goal: '≥ 1.3: not met' });
  });
});

describe('bench:app CPU profile summary', () => {
  test('frames belong to a package, to Node, to the app, or to V8', () => {
    expect(frameOwner({ functionName: 'hash', url: 'file:///app/node_modules/express-session/index.js', lineNumber: 1 })).toBe('express-session');
    expect(frameOwner({ functionName: 'x', url: 'file:///app/node_modules/@scope/pkg/lib/a.js', lineNumber: 1 })).toBe('@scope/pkg');
    expect(frameOwner({ functionName: 'stat', url: 'node:fs', lineNumber: 1 })).toBe('node (internal)');
    expect(frameOwner({ functionName: '(garbage collector)', url: '', lineNumber: -1 })).toBe('GC');
    expect(frameOwner({ functionName: 'handler', url: 'file:///app/dist/app.js', lineNumber: 1 })).toBe('app');
  });

  test('self time per function and package, inclusive time per package on the stack, idle left out', () => {
    // root → app handler → express-session hash; root → (idle)
    const profile: CpuProfile = {
      nodes: [
        { id: 1, callFrame: { functionName: '(root)', url: '', lineNumber: -1 }, children: [2, 4] },
        { id: 2, callFrame: { functionName: 'handler', url: 'file:///x/dist/app.js', lineNumber: 9 }, children: [3] },
        { id: 3, callFrame: { functionName: 'hash', url: 'file:///x/node_modules/express-session/index.js', lineNumber: 0 } },
        { id: 4, callFrame: { functionName: '(idle)', url: '', lineNumber: -1 } },
      ],
      samples: [2, 3, 3, 3, 4, 4],
      timeDeltas: [1000, 1000, 1000, 1000, 5000, 5000],
      startTime: 0,
      endTime: 14_000,
    };
    const summary = summarizeProfile(profile);
    expect(summary.busyMs).toBe(4);
    expect(summary.idleMs).toBe(10);
    expect(summary.functions[0]).toEqual({ name: 'hash express-session/index.js:1', ms: 3, percent: 75 });
    expect(summary.packagesSelf).toEqual([{ name: 'express-session', ms: 3, percent: 75 }, { name: 'app', ms: 1, percent: 25 }]);
    expect(summary.packagesInclusive).toEqual([{ name: 'app', ms: 4, percent: 100 }, { name: 'express-session', ms: 3, percent: 75 }]);
  });
});
