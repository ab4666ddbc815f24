/**
 * `npm run bench:app`: what one request costs in one app process, against the stock express-session +
 * connect-redis setup (stock-server.ts) and bare express (bare-server.ts), in one run.
 *
 * - Every server is pinned to core 0 (taskset, where the OS has it and there are two cores or more); this
 *   process (the load generator, autocannon) and Redis share core 1. The machine's other load hits every
 *   target alike, because the targets take turns: each round runs every endpoint on every target, and the
 *   order of the targets turns by one each round. Ratios are taken within a round, and their median reported.
 * - Targets: bare express (GET /api/ping only), the stock setup, this app with SESSION_STORE=memory, this
 *   app with SESSION_STORE=redis (dist/server.js, as in the image, every feature on, request logging to a file).
 * - Endpoints: authenticated GET /api/session, POST /api/visits, and GET /api/ping; one session per connection.
 * - Per request it reports, besides req/s and latency, the server's CPU time (/proc/<pid>/stat) and the Redis
 *   commands it sent (INFO commandstats): the figures that carry to a bigger machine.
 * - Then a CPU profile of the app (Redis store) under GET /api/session: app.cpuprofile (open it in Chrome's
 *   DevTools or speedscope) and its top packages and functions in the report.
 *
 *   npm run bench:app [-- --rounds 3 --duration 6 --connections 16 --report docs/reports/bench-app-<date>]
 * Writes .artifacts/bench-app/<time>/{report.md,report.json,app.cpuprofile}; --report also writes
 * <path>.md and <path>.json. BENCH_APP_REDIS_URL uses a Redis of your own instead of starting one;
 * BENCH_APP_SERVER another build of the app than dist/server.js.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, createWriteStream, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import Redis from 'ioredis';
import { productImage } from '../../toolkit/images';
import { freePort } from '../../toolkit/ports';
import { sleep } from '../../toolkit/time';
import { profileTables, summarizeProfile, type CpuProfile, type ProfileSummary } from './profile-summary';
import { medianOf, ratioRows, type Measurement, type TargetName } from './figures';

const ROOT = path.resolve(__dirname, '../..');
// BENCH_APP_SERVER: another build of the app (e.g. an older commit's dist/server.js), to compare it.
const APP_SERVER = process.env.BENCH_APP_SERVER ?? path.join(ROOT, 'dist/server.js');
const { values: opts } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    duration: { type: 'string', default: '6' },
    connections: { type: 'string', default: '16' },
    report: { type: 'string' },
  },
});
const ROUNDS = Number(opts.rounds);
const DURATION_S = Number(opts.duration);
const CONNECTIONS = Number(opts.connections);

const ENDPOINTS = ['GET /api/session', 'POST /api/visits', 'GET /api/ping'] as const;
type Endpoint = (typeof ENDPOINTS)[number];
const USERS = [
  ['alice', 'wonderland'],
  ['bob', 'builder-bob'],
  ['carol', 'carol-sings'],
] as const;

interface Target {
  name: TargetName;
  describe: string;
  endpoints: readonly Endpoint[];
  start(port: number, extraNodeArgs?: string[]): { child: ChildProcess; url: string };
  /** The app needs its CSRF token on writes; the stock setup has none. */
  csrf: boolean;
}

const cores = os.cpus().length;
const canPin = cores >= 2 && spawnSync('taskset', ['--version'], { stdio: 'ignore' }).status === 0;
const pinned = (core: number, argv: string[]) => (canPin ? ['taskset', ['-c', String(core), ...argv]] : [argv[0]!, argv.slice(1)]) as [string, string[]];

function serve(argv: string[], env: Record<string, string>, logFile: string): ChildProcess {
  const [bin, args] = pinned(0, argv);
  const child = spawn(bin, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const chunks: Buffer[] = [];
  // The app logs one JSON line per request: to a file, as a container's log would be, not kept in memory.
  child.stdout!.pipe(createWriteStream(logFile));
  child.stderr!.on('data', (chunk: Buffer) => chunks.push(chunk));
  child.once('exit', (code, signal) => {
    if (code !== 0 && signal !== 'SIGTERM') process.stderr.write(`${argv.join(' ')} exited ${code ?? signal}: ${Buffer.concat(chunks).toString()}\n`);
  });
  return child;
}

function targets(redisUrl: string, outDir: string): Target[] {
  const tsx = (file: string) => [process.execPath, '--import', 'tsx', path.join('loadtest/app-bench', file)];
  const app = (store: 'memory' | 'redis') => (port: number, extra: string[] = []) => ({
    url: `http://127.0.0.1:${port}`,
    child: serve([process.execPath, ...extra, APP_SERVER], {
      PORT: String(port), HOST: '127.0.0.1', INSTANCE_ID: `bench-${store}`, NODE_ENV: 'production', LOG_LEVEL: 'info',
      SESSION_STORE: store, REDIS_URL: redisUrl, SESSION_SECRETS: 'bench-app-secret-0123456789abcdef',
    }, path.join(outDir, `app-${store}-${port}.log`)),
  });
  return [
    {
      name: 'bare', describe: 'bare express, GET /api/ping only', endpoints: ['GET /api/ping'], csrf: false,
      start: (port) => ({ url: `http://127.0.0.1:${port}`, child: serve(tsx('bare-server.ts'), { PORT: String(port) }, path.join(outDir, 'bare.log')) }),
    },
    {
      name: 'stock', describe: 'express + express-session + connect-redis + ioredis, nothing else', endpoints: ENDPOINTS, csrf: false,
      start: (port) => ({ url: `http://127.0.0.1:${port}`, child: serve(tsx('stock-server.ts'), { PORT: String(port), REDIS_URL: redisUrl }, path.join(outDir, 'stock.log')) }),
    },
    { name: 'app-memory', describe: 'this app, SESSION_STORE=memory, every feature on', endpoints: ENDPOINTS, csrf: true, start: app('memory') },
    { name: 'app-redis', describe: 'this app, SESSION_STORE=redis, every feature on', endpoints: ENDPOINTS, csrf: true, start: app('redis') },
  ];
}

/** A Redis for the run: a redis-server from PATH, else a container of the product's image; on core 1. */
async function startRedis(): Promise<{ url: string; stop: () => void; describe: string }> {
  if (process.env.BENCH_APP_REDIS_URL) return { url: process.env.BENCH_APP_REDIS_URL, stop: () => undefined, describe: process.env.BENCH_APP_REDIS_URL };
  const port = await freePort();
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
  if (spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0) {
    const [bin, argv] = pinned(1, ['redis-server', ...args]);
    const child = spawn(bin, argv, { stdio: 'ignore' });
    return { url: `redis://127.0.0.1:${port}`, stop: () => child.kill('SIGKILL'), describe: 'redis-server from PATH' };
  }
  const name = `sc-bench-app-redis-${port}`;
  const image = productImage('redis');
  // The host's network: docker's port proxy would put a process of its own between every client and Redis.
  const run = spawnSync('docker', ['run', '-d', '--rm', '--name', name, '--network', 'host', ...(canPin ? ['--cpuset-cpus', '1'] : []), image, 'redis-server', ...args], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`no redis-server on PATH, and docker could not start ${image}: ${run.stderr}`);
  return { url: `redis://127.0.0.1:${port}`, stop: () => void spawnSync('docker', ['rm', '-f', name], { stdio: 'ignore' }), describe: `${image} (container, host network)` };
}

async function waitForPing(url: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await fetch(`${url}/api/ping`).catch(() => null);
    if (res?.status === 200) return;
    if (Date.now() > deadline) throw new Error(`${url} did not answer /api/ping within ${timeoutMs} ms`);
    await sleep(200);
  }
}

interface Credentials {
  cookie: string;
  csrf?: string;
}

async function login(url: string, i: number): Promise<Credentials> {
  const [username, password] = USERS[i % USERS.length]!;
  const res = await fetch(`${url}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) });
  if (res.status !== 200) throw new Error(`login at ${url} answered ${res.status}: ${await res.text()}`);
  const cookie = res.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
  const body = (await res.json()) as { csrfToken?: string };
  return { cookie, csrf: body.csrfToken };
}

/** utime + stime of a process, in ms (Linux /proc; null elsewhere). */
function cpuMs(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // fields 14 and 15 of stat(5), at USER_HZ 100
  } catch {
    return null;
  }
}

async function redisCommands(redis: Redis): Promise<number> {
  const info = await redis.info('stats');
  return Number(/total_commands_processed:(\d+)/.exec(info)?.[1] ?? 0);
}

async function load(url: string, endpoint: Endpoint, sessions: Credentials[], durationS: number): Promise<autocannon.Result> {
  const [method, route] = endpoint.split(' ') as ['GET' | 'POST', string];
  let next = 0;
  return autocannon({
    url: `${url}${route}`,
    method,
    connections: CONNECTIONS,
    duration: durationS,
    // One session per connection: 16 users, not one user 16 times.
    setupClient: (client) => {
      const own = sessions[next++ % sessions.length];
      if (own && route !== '/api/ping') client.setHeaders({ cookie: own.cookie, ...(own.csrf ? { 'x-csrf-token': own.csrf } : {}) });
    },
  });
}

interface Running {
  target: Target;
  child: ChildProcess;
  url: string;
  sessions: Credentials[];
}

/** Starts every target, logs a session in per connection, and warms each endpoint up (JIT), unmeasured. */
async function startTargets(list: Target[]): Promise<Running[]> {
  const running: Running[] = [];
  for (const target of list) {
    const { child, url } = target.start(await freePort());
    running.push({ target, child, url, sessions: [] });
    await waitForPing(url);
    running.at(-1)!.sessions = target.endpoints.length > 1 ? await Promise.all(Array.from({ length: CONNECTIONS }, (_, i) => login(url, i))) : [];
    for (const endpoint of target.endpoints) await load(url, endpoint, running.at(-1)!.sessions, 2);
  }
  return running;
}

/** One measurement: the load, and the server's CPU time and the Redis commands it took. */
async function measure(round: number, { target, child, url, sessions }: Running, endpoint: Endpoint, redis: Redis): Promise<Measurement> {
  const [cpuBefore, cmdsBefore] = [cpuMs(child.pid!), await redisCommands(redis)];
  const result = await load(url, endpoint, sessions, DURATION_S);
  const [cpuAfter, cmdsAfter] = [cpuMs(child.pid!), await redisCommands(redis)];
  const requests = result.requests.total;
  return {
    round, target: target.name, endpoint,
    reqPerS: Math.round(requests / result.duration),
    p50Ms: result.latency.p50, p99Ms: result.latency.p99,
    non2xx: result.non2xx, errors: result.errors + result.timeouts,
    cpuUsPerRequest: cpuBefore !== null && cpuAfter !== null && requests > 0 ? Math.round(((cpuAfter - cpuBefore) * 1000) / requests) : null,
    // The INFO that read the count is one of them.
    redisCommandsPerRequest: requests > 0 ? Math.round(((cmdsAfter - cmdsBefore - 1) / requests) * 1000) / 1000 : null,
  };
}

/** Every endpoint on every target, ROUNDS times; the targets' order turns by one each round. */
async function runRounds(running: Running[], redis: Redis): Promise<Measurement[]> {
  const measurements: Measurement[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    const order = running.map((_, i) => running[(i + round - 1) % running.length]!);
    for (const endpoint of ENDPOINTS) {
      for (const entry of order) {
        if (!entry.target.endpoints.includes(endpoint)) continue;
        const m = await measure(round, entry, endpoint, redis);
        measurements.push(m);
        console.log(`round ${round} ${endpoint.padEnd(17)} ${m.target.padEnd(10)} ${String(m.reqPerS).padStart(6)} req/s  p99 ${m.p99Ms} ms  cpu ${m.cpuUsPerRequest} µs/req  redis ${m.redisCommandsPerRequest}/req${m.non2xx || m.errors ? `  ${m.non2xx} non-2xx, ${m.errors} errors` : ''}`);
      }
    }
  }
  return measurements;
}

/** A fresh app (Redis store) under the authenticated read, with --cpu-prof; its profile copied to outDir. */
async function profileApp(appRedis: Target, outDir: string): Promise<ProfileSummary | null> {
  const profileDir = path.join(outDir, 'profile');
  mkdirSync(profileDir, { recursive: true });
  const profiled = appRedis.start(await freePort(), ['--cpu-prof', '--cpu-prof-dir', profileDir]);
  await waitForPing(profiled.url);
  const sessions = await Promise.all(Array.from({ length: CONNECTIONS }, (_, i) => login(profiled.url, i)));
  await load(profiled.url, 'GET /api/session', sessions, 2);
  await load(profiled.url, 'GET /api/session', sessions, DURATION_S);
  // The app stops on SIGTERM and exits: node writes the profile then.
  await new Promise<void>((resolve) => {
    profiled.child.once('exit', () => resolve());
    profiled.child.kill('SIGTERM');
  });
  const file = readdirSync(profileDir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) return null;
  copyFileSync(path.join(profileDir, file), path.join(outDir, 'app.cpuprofile'));
  return summarizeProfile(JSON.parse(readFileSync(path.join(profileDir, file), 'utf8')) as CpuProfile);
}

async function connectRedis(url: string): Promise<{ redis: Redis; version: string }> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  redis.on('error', () => undefined); // refused until the server listens: the loop below waits for it
  for (let i = 0; (await redis.ping().catch(() => null)) !== 'PONG'; i++) {
    if (i > 150) throw new Error(`Redis at ${url} did not answer`);
    await sleep(200);
  }
  return { redis, version: /redis_version:(\S+)/.exec(await redis.info('server'))?.[1] ?? 'unknown' };
}

async function main(): Promise<void> {
  if (!existsSync(APP_SERVER)) throw new Error(`${APP_SERVER} is missing: npm run build first (npm run bench:app does)`);
  const outDir = path.join(ROOT, '.artifacts/bench-app', new Date().toISOString().replace(/[:.]/g, '-'));
  mkdirSync(outDir, { recursive: true });
  if (canPin) spawnSync('taskset', ['-pc', '1', String(process.pid)], { stdio: 'ignore' });
  const loadBefore = os.loadavg()[0]!;
  console.log(`bench:app: ${ROUNDS} rounds × ${DURATION_S} s, ${CONNECTIONS} connections; ${canPin ? 'servers on core 0, load generator and Redis on core 1' : `not pinned (${cores} cores, or no taskset)`}`);

  const redisServer = await startRedis();
  const list = targets(redisServer.url, outDir);
  let running: Running[] = [];
  let measurements: Measurement[];
  let summary: ProfileSummary | null;
  let redisVersion: string;
  try {
    const connected = await connectRedis(redisServer.url);
    redisVersion = connected.version;
    try {
      running = await startTargets(list);
      measurements = await runRounds(running, connected.redis);
    } finally {
      for (const { child } of running) child.kill('SIGTERM');
    }
    summary = await profileApp(list.find((t) => t.name === 'app-redis')!, outDir);
    await connected.redis.quit();
  } finally {
    redisServer.stop();
  }

  const facts: Facts = {
    startedAt: new Date().toISOString(), cores, cpu: os.cpus()[0]?.model ?? 'unknown', memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()}`, node: process.version, redis: `${redisVersion}, ${redisServer.describe}`,
    pinned: canPin, loadAverage1m: { before: loadBefore, after: os.loadavg()[0]! },
    appServer: APP_SERVER, rounds: ROUNDS, durationS: DURATION_S, connections: CONNECTIONS, commit: spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).stdout.trim(),
  };
  const report = renderReport(facts, list, measurements, summary);
  const json = `${JSON.stringify({ facts, measurements, profile: summary }, null, 2)}\n`;
  for (const base of [path.join(outDir, 'report'), ...(opts.report ? [opts.report] : [])]) {
    writeFileSync(`${base}.md`, report);
    writeFileSync(`${base}.json`, json);
  }
  console.log(`\n${report}\nwritten to ${path.relative(ROOT, outDir)}/`);
  const bad = measurements.filter((m) => m.non2xx > 0 || m.errors > 0);
  if (bad.length) {
    console.error(`${bad.length} measurements had failed requests: their figures are not comparable`);
    process.exitCode = 1;
  }
}

interface Facts {
  startedAt: string;
  cores: number;
  cpu: string;
  memoryGiB: number;
  os: string;
  node: string;
  redis: string;
  pinned: boolean;
  appServer: string;
  loadAverage1m: { before: number; after: number };
  rounds: number;
  durationS: number;
  connections: number;
  commit: string;
}

function renderReport(facts: Facts, list: Target[], measurements: Measurement[], summary: ProfileSummary | null): string {
  const cell = (target: TargetName, endpoint: Endpoint, pick: (m: Measurement) => number | null) => {
    const v = medianOf(measurements.filter((m) => m.target === target && m.endpoint === endpoint).map(pick));
    return v === null ? '—' : String(v);
  };
  const lines = [
    `# bench:app — one app process, ${facts.rounds} rounds of ${facts.durationS} s, ${facts.connections} connections`,
    '',
    ...list.map((t) => `- **${t.name}**: ${t.describe}`),
    '',
    '## Ratios (median of the rounds\' ratios, each within one round)',
    '',
    '| ratio | endpoint | median | rounds | goal |',
    '|---|---|---:|---|---|',
    ...ratioRows(measurements).map((r) => `| ${r.label} | ${r.endpoint} | **${r.median}** | ${r.perRound.join(', ')} | ${r.goal ?? ''} |`),
    '',
    '## Per target and endpoint (medians)',
    '',
    '| endpoint | target | req/s | p50 ms | p99 ms | server CPU µs/req | Redis commands/req |',
    '|---|---|---:|---:|---:|---:|---:|',
    ...ENDPOINTS.flatMap((e) => list.filter((t) => t.endpoints.includes(e)).map((t) => `| ${e} | ${t.name} | ${cell(t.name, e, (m) => m.reqPerS)} | ${cell(t.name, e, (m) => m.p50Ms)} | ${cell(t.name, e, (m) => m.p99Ms)} | ${cell(t.name, e, (m) => m.cpuUsPerRequest)} | ${cell(t.name, e, (m) => m.redisCommandsPerRequest)} |`)),
    '',
    '## CPU profile: this app (Redis store) under GET /api/session',
    '',
    ...(summary ? profileTables(summary) : ['No profile was written.', '']),
    '## Machine',
    '',
    `- ${facts.cores} × ${facts.cpu}, ${facts.memoryGiB} GiB, ${facts.os}; Node ${facts.node}; Redis ${facts.redis}`,
    `- ${facts.pinned ? 'servers pinned to core 0; autocannon and Redis on core 1' : 'not pinned'}; load average (1 min) ${facts.loadAverage1m.before.toFixed(2)} before, ${facts.loadAverage1m.after.toFixed(2)} after`,
    `- commit ${facts.commit}, ${facts.startedAt}; the app: ${facts.appServer}`,
    '',
  ];
  return lines.join('\n');
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
