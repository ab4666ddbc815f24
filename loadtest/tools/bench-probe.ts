// What the benchmark reads around each k6 phase (tools/bench-run.ts): the CPU time of every container, the
// machine's and k6's; the Redis primaries' INFO commandstats; the apps' own counters (/metrics).
// CPU comes from the host's cgroup files, read in microseconds with no process started, so the reading
// itself costs nothing inside the window; `docker exec` is used only when those files are not visible
// (docker exec runs inside the container's cgroup and would count itself).
import { existsSync, readFileSync } from 'node:fs';
import { containerRedisCli, docker } from '../../toolkit/docker.ts';
import type { AppCounters, CpuReading } from './bench/types.ts';

// ---- CPU ---------------------------------------------------------------------------------------------

/** Where the host keeps a container's CPU time: cgroup v1 (cgroupfs or systemd driver), then cgroup v2. */
function cgroupFile(id: string): { file: string; unit: 'ns' | 'usec-stat' } | null {
  const candidates: [string, 'ns' | 'usec-stat'][] = [
    [`/sys/fs/cgroup/cpuacct/docker/${id}/cpuacct.usage`, 'ns'],
    [`/sys/fs/cgroup/cpuacct/system.slice/docker-${id}.scope/cpuacct.usage`, 'ns'],
    [`/sys/fs/cgroup/cpu,cpuacct/docker/${id}/cpuacct.usage`, 'ns'],
    [`/sys/fs/cgroup/system.slice/docker-${id}.scope/cpu.stat`, 'usec-stat'],
    [`/sys/fs/cgroup/docker/${id}/cpu.stat`, 'usec-stat'],
  ];
  const found = candidates.find(([file]) => existsSync(file));
  return found ? { file: found[0], unit: found[1] } : null;
}

const usecFromStat = (text: string) => Number(/^usage_usec (\d+)/m.exec(text)?.[1] ?? NaN);

/** How the CPU of the containers is read on this machine, for the report. */
export function cpuSource(id: string): string {
  const where = cgroupFile(id);
  return where ? `host cgroup files (${where.file.replace(id, '<id>')})` : 'docker exec cat of the cgroup file inside each container';
}

/** CPU-seconds a container has used since it started. */
export function containerCpuSeconds(id: string): number {
  const where = cgroupFile(id);
  if (where) {
    const text = readFileSync(where.file, 'utf8');
    return where.unit === 'ns' ? Number(text.trim()) / 1e9 : usecFromStat(text) / 1e6;
  }
  const text = docker('exec', id, 'sh', '-c', 'cat /sys/fs/cgroup/cpu.stat 2>/dev/null || cat /sys/fs/cgroup/cpuacct/cpuacct.usage');
  return text.includes('usage_usec') ? usecFromStat(text) / 1e6 : Number(text) / 1e9;
}

const CLOCK_TICKS = 100; // USER_HZ: /proc reports CPU time in 1/100 s on Linux

/** CPU-seconds of a process (the k6 binary), from /proc. */
export function processCpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  // utime and stime are fields 14 and 15 of the line; after "pid (comm) " they are the 12th and 13th.
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

/** The whole machine: CPU-seconds busy (every core) and elapsed across all cores, since boot. */
export function hostCpuSeconds(): { busy: number; total: number } {
  const [, ...ticks] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/);
  const n = ticks.map(Number);
  // user nice system idle iowait irq softirq steal (guest time is already inside user)
  const total = n.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = n[3]! + n[4]!;
  return { busy: (total - idle) / CLOCK_TICKS, total: total / CLOCK_TICKS };
}

export function readCpu(containers: Record<string, string>, k6: { container?: string | null; pid?: number } = {}): CpuReading {
  const at = Date.now();
  const out: Record<string, number> = {};
  for (const [service, id] of Object.entries(containers)) out[service] = containerCpuSeconds(id);
  let k6Cpu: number | null = null;
  try {
    if (k6.container) k6Cpu = containerCpuSeconds(k6.container);
    else if (k6.pid) k6Cpu = processCpuSeconds(k6.pid);
  } catch {
    // k6 already gone: its share stays unknown.
  }
  return { at, containers: out, k6: k6Cpu, host: hostCpuSeconds() };
}

// ---- Redis -------------------------------------------------------------------------------------------

/** calls per command name (`get`, `evalsha`, `client|setname`), from INFO commandstats. */
export function commandStats(redisContainer: string): Record<string, number> {
  // The Redis containers set REDISCLI_AUTH (docker-compose.yml), so redis-cli needs no -a.
  const text = containerRedisCli(redisContainer, 'INFO', 'commandstats');
  const calls: Record<string, number> = {};
  for (const m of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls[m[1]!] = Number(m[2]);
  return calls;
}

/**
 * The commandstats of several primaries (a Redis Cluster's), added up per command. Only primaries: a
 * replica's commandstats count the writes it applies from the replication stream, which would count each
 * write twice.
 */
export function summedCommandStats(redisContainers: string[]): Record<string, number> {
  const calls: Record<string, number> = {};
  for (const id of redisContainers) for (const [name, n] of Object.entries(commandStats(id))) calls[name] = (calls[name] ?? 0) + n;
  return calls;
}

/** Whether a Redis node is a primary right now (INFO replication's role). */
export function isPrimary(redisContainer: string): boolean {
  return /^role:master\b/m.test(containerRedisCli(redisContainer, 'INFO', 'replication'));
}

// ---- the apps' counters ------------------------------------------------------------------------------

function labels(text: string): Record<string, string> {
  return Object.fromEntries([...text.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
}

const COUNTERS = ['sc_http_connections_total', 'sc_http_requests_total', 'sc_store_command_duration_seconds', 'sc_live_redis_commands_total'];

/**
 * Every app's counters, fetched from inside its nginx container (the apps publish no port; the nginx image
 * has curl). Each fetch is one connection and one request from nginx's address: bench-run.ts subtracts them.
 */
export function appCounters(nginxContainer: string, apps: string[]): Record<string, AppCounters> {
  // Only these counters: the full page would also read the cluster statistics (a Redis script per scrape).
  const query = COUNTERS.map((name) => `name=${name}`).join('&');
  const urls = apps.map((app) => `http://${app}:3000/metrics?${query}`);
  let text: string;
  try {
    text = docker('exec', nginxContainer, 'curl', '-sS', '--max-time', '5', ...urls);
  } catch (err) {
    // A stopped app fails its URL; the others' output is still there.
    text = String((err as { stdout?: string }).stdout ?? '');
  }
  const out: Record<string, AppCounters> = {};
  const of = (instance: string) => (out[instance] ??= { connections: 0, requests: {}, storeOps: {} });
  for (const line of text.split('\n')) {
    const m = /^(sc_http_connections_total|sc_http_requests_total|sc_store_command_duration_seconds_count|sc_live_redis_commands_total)\{([^}]*)\} (\S+)$/.exec(line);
    if (!m) continue;
    const l = labels(m[2]!);
    const value = Number(m[3]);
    const app = of(l.instance ?? '?');
    if (m[1] === 'sc_http_connections_total') {
      if (l.peer === 'remote') app.connections += value;
    } else if (m[1] === 'sc_live_redis_commands_total') {
      app.liveCommands = value;
    } else if (m[1] === 'sc_http_requests_total') {
      app.requests[l.route ?? 'other'] = (app.requests[l.route ?? 'other'] ?? 0) + value;
    } else {
      app.storeOps[l.operation ?? '?'] = value;
    }
  }
  return out;
}
