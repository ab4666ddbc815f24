// CI's verdict on a set of run folders (loadtest/ci.sh): every smoke threshold must hold (the contract),
// and in a compare run the Redis variant must not lose one session. The other thresholds — GETs ≤ 0.1 %
// failed, latency bounds — are printed but do not fail CI: on a shared 2-core CI machine they measure the
// machine as much as the cluster. Ends with the plain line CI reads: "loadtest: N passed, N failed".
//   npx tsx loadtest/tools/ci-verdict.ts .artifacts/loadtest/ci/*
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

interface Summary {
  script: string;
  figures: Record<string, { sessionsLost: { total: number }; requests: number }>;
  thresholds: { metric: string; condition: string; ok: boolean }[];
}

const BLOCKING = ['sc_session_lost{variant:redis}'];
let passed = 0;
let failed = 0;
const verdict = (ok: boolean, what: string) => {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (ok) passed += 1;
  else failed += 1;
};

const runs = process.argv.slice(2);
if (runs.length === 0) {
  console.error('usage: ci-verdict.ts RUN_DIR...');
  process.exit(2);
}
for (const run of runs) {
  const file = path.join(run, 'summary.json');
  const name = path.basename(run);
  if (!existsSync(file)) {
    verdict(false, `${name}: no summary.json — k6 did not finish (see ${path.join(run, 'k6.log')})`);
    continue;
  }
  const summary = JSON.parse(readFileSync(file, 'utf8')) as Summary;
  const requests = Object.values(summary.figures).reduce((n, f) => n + f.requests, 0);
  if (requests === 0) {
    verdict(false, `${name}: no request was made`);
    continue;
  }
  if (summary.script === '01.smoke') {
    const broken = summary.thresholds.filter((t) => !t.ok);
    verdict(broken.length === 0, `${name}: ${broken.length ? broken.map((t) => `${t.metric} ${t.condition}`).join('; ') : 'contract holds'}`);
    continue;
  }
  for (const t of summary.thresholds) {
    if (BLOCKING.includes(t.metric)) {
      const lost = summary.figures.redis?.sessionsLost.total ?? 0;
      verdict(t.ok, `${name}: Redis variant lost ${lost} session(s) (${t.metric} ${t.condition})`);
    } else if (!t.ok) {
      console.log(`warn ${name}: ${t.metric} ${t.condition} crossed (reported, not failing CI)`);
    }
  }
}
console.log(`loadtest: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
