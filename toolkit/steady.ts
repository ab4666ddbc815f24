import type { Compose } from './compose';
import { MASTER_NAME, replicationInfo, sentinelCommand, sentinelEvents, sentinelFields } from './sentinel';
import { APP_SERVICES, REDIS_NODES, SENTINEL_SERVICES, STICKY_SERVICES } from './services';
import { stackCompose, type StackInfo } from './stack';
import { sleep } from './time';

export interface SteadyReport {
  waitedMs: number;
  /** The Redis roles the steady stack has (a failover test may have swapped them). */
  primary: string;
  /** The replica Sentinel promotes first (replicaOrder). */
  replica: string;
  /** Every replica, `replica` first. */
  replicas: string[];
}

/** The replicas of `primary`, the one Sentinel would promote first (the lowest replica-priority) first. */
export function replicaOrder(primary: string): string[] {
  return REDIS_NODES.filter((node) => node !== primary);
}

/**
 * The one precondition every test against a compose stack starts from, and leaves behind: whatever an
 * earlier test killed, paused or failed over has mended. Steady means
 * - every container of the stack's profiles is running and healthy;
 * - each nginx hands new clients to each of its three apps in turn, and each says it is ready (a
 *   restarted app is back in the rotation, not only healthy: nginx skips a failed server for fail_timeout);
 * - the three Sentinels name one and the same primary, that node says it is the primary, no Sentinel is
 *   in the middle of a failover, each sees its quorum and every replica as usable, and knows each node by
 *   that node's own run id (it reaches the node it names, not another that took its old address);
 * - every other Redis node replicates from it, with its link up and no sync in progress.
 * Waits until the stack is steady; throws, naming what is not, after timeoutMs.
 */
export async function waitForSteadyStack(target: StackInfo, timeoutMs = 120_000): Promise<SteadyReport> {
  const compose = stackCompose(target);
  const started = Date.now();
  const deadline = started + timeoutMs;
  let problems: string[] = [];
  for (;;) {
    problems = await unsteadiness(compose, target);
    if (problems.length === 0) {
      const primary = compose.sentinelPrimary();
      const replicas = replicaOrder(primary);
      return { waitedMs: Date.now() - started, primary, replica: replicas[0]!, replicas };
    }
    if (Date.now() > deadline) {
      // What Sentinel did meanwhile (a TILT, an aborted failover…) is what explains most Redis problems here.
      const events = sentinelEvents(compose, new Date(started - 60_000));
      // And what the health checks of an unhealthy container said, for a stack that never became healthy.
      const health = compose.healthOfAll();
      const probes = [...health].filter(([, h]) => h === 'unhealthy').flatMap(([service]) => compose.lastProbes(service).map((p) => `${service}: ${p}`));
      throw new Error(`stack ${target.project} not steady within ${timeoutMs} ms: ${problems.join('; ')}\nSentinel events since a minute before the wait:\n${events.join('\n')}\nLast health probes of the unhealthy containers:\n${probes.join('\n')}`);
    }
    await sleep(500);
  }
}

/** What keeps the stack from being steady right now (empty: steady). Cheap checks first. */
async function unsteadiness(compose: Compose, target: StackInfo): Promise<string[]> {
  const sticky = Boolean(target.stickyUrl);
  const services = [...REDIS_NODES, ...SENTINEL_SERVICES, ...APP_SERVICES, 'nginx', ...(sticky ? [...STICKY_SERVICES, 'nginx-sticky'] : [])];
  const health = compose.healthOfAll();
  const unhealthy = services.filter((s) => health.get(s) !== 'healthy').map((s) => `${s} ${health.get(s) ?? 'absent'}`);
  if (unhealthy.length) return [`not healthy: ${unhealthy.join(', ')}`];

  const problems = [
    ...(await rotationProblems(target.httpUrl, APP_SERVICES)),
    ...(sticky ? await rotationProblems(target.stickyUrl!, STICKY_SERVICES) : []),
  ];
  problems.push(...redisProblems(compose));
  return problems;
}

/**
 * Asks nginx for /readyz (no cookie: a new client each time) `instances.length * 2` times: every answer
 * must be 200 (ready: store reachable, not draining) and every instance must have given one.
 */
async function rotationProblems(url: string, instances: string[]): Promise<string[]> {
  const seen: string[] = [];
  for (let i = 0; i < instances.length * 2; i++) {
    let res: Response;
    try {
      res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(3000) });
      await res.arrayBuffer();
    } catch (err) {
      // Refused or timed out: "not yet". (Not `instanceof Error`: under jest, fetch's DOMException comes from
      // another realm and fails that test, as CI run 16 saw.)
      return [`${url}: ${(err as { message?: string }).message ?? String(err)}`];
    }
    if (res.status !== 200) return [`${url}/readyz answered ${res.status} (${res.headers.get('x-served-by') ?? '?'})`];
    seen.push(res.headers.get('x-served-by') ?? '?');
  }
  const missing = instances.filter((id) => !seen.includes(id));
  return missing.length ? [`${url}: ${missing.join(', ')} not in nginx's rotation (served by ${seen.join(' ')})`] : [];
}

/**
 * Sentinels agreeing on a primary that is one, not failing over; every other node replicating from it, its
 * link up, no sync in progress; each Sentinel seeing its quorum and every replica as usable.
 */
function redisProblems(compose: Compose): string[] {
  const agreed = agreedPrimary(compose);
  if (typeof agreed !== 'string') return agreed.problems;
  const replicas = replicaOrder(agreed);
  const problems = replicationProblems(compose, agreed, replicas);
  if (problems.length) return problems;
  // Who each node really is: a Sentinel that reached another node under this one's name (an address it
  // remembers, now another container's: redis/replica.conf) sees that node's run id, not this one's.
  const runIds = Object.fromEntries(REDIS_NODES.map((node) => [node, /^run_id:(\w+)/m.exec(compose.redisCli(node, 'info', 'server'))?.[1]]));
  for (const sentinel of SENTINEL_SERVICES) {
    const master = sentinelFields(compose, sentinel, 'master', MASTER_NAME)[0] ?? {};
    if (master.runid !== runIds[agreed]) problems.push(`${sentinel} knows ${agreed} by run id ${master.runid ?? '?'}, the node's is ${runIds[agreed] ?? '?'}`);
    const known = sentinelFields(compose, sentinel, 'replicas', MASTER_NAME);
    for (const replica of replicas) {
      const record = known.find((r) => r.ip === replica);
      if (!record || record.flags !== 'slave' || record['master-link-status'] !== 'ok') {
        problems.push(`${sentinel} does not see ${replica} as a usable replica`);
      } else if (record.runid !== runIds[replica]) {
        problems.push(`${sentinel} knows ${replica} by run id ${record.runid ?? '?'}, the node's is ${runIds[replica] ?? '?'}`);
      }
    }
    const quorum = sentinelCommand(compose, sentinel, 'ckquorum', MASTER_NAME);
    if (!/^OK/.test(quorum)) problems.push(`${sentinel}: ${quorum}`);
  }
  return problems;
}

/** The primary all three Sentinels name, flagged plain `master` by each and one of the stack's nodes; else what is wrong. */
function agreedPrimary(compose: Compose): string | { problems: string[] } {
  const masters = SENTINEL_SERVICES.map((sentinel) => {
    try {
      const master = sentinelFields(compose, sentinel, 'master', MASTER_NAME)[0] ?? {};
      return { sentinel, primary: master.ip ?? '?', flags: master.flags ?? '?' };
    } catch (err) {
      return { sentinel, primary: `error ${(err as Error).message.split('\n')[0]}`, flags: '?' };
    }
  });
  const primaries = new Set(masters.map((m) => m.primary));
  if (primaries.size !== 1) return { problems: [`Sentinels disagree: ${masters.map((m) => `${m.sentinel}=${m.primary}`).join(', ')}`] };
  const flagged = masters.filter((m) => m.flags !== 'master');
  if (flagged.length) return { problems: [`Sentinel flags: ${flagged.map((m) => `${m.sentinel}=${m.flags}`).join(', ')}`] };
  const primary = [...primaries][0]!;
  if (!REDIS_NODES.includes(primary)) return { problems: [`Sentinels name ${primary}, which is not one of ${REDIS_NODES.join(', ')}`] };
  return primary;
}

/** The primary says it is one with every replica online; each replica replicates it, link up, no sync in progress. */
function replicationProblems(compose: Compose, primary: string, replicas: string[]): string[] {
  const primaryInfo = replicationInfo(compose, primary);
  const problems: string[] = [];
  if (primaryInfo.role !== 'master') problems.push(`${primary} is ${primaryInfo.role}, Sentinels name it primary`);
  const online = Object.entries(primaryInfo).filter(([k, v]) => /^slave\d+$/.test(k) && /state=online/.test(v)).length;
  if (online !== replicas.length) problems.push(`${primary} has ${online} online replicas of ${replicas.length} (connected_slaves ${primaryInfo.connected_slaves ?? '?'})`);
  for (const replica of replicas) {
    const replicaInfo = replicationInfo(compose, replica);
    if (replicaInfo.role !== 'slave' || replicaInfo.master_host !== primary) problems.push(`${replica} is ${replicaInfo.role} of ${replicaInfo.master_host ?? 'nobody'}`);
    if (replicaInfo.master_link_status !== 'up' || replicaInfo.master_sync_in_progress !== '0') {
      problems.push(`${replica}: link ${replicaInfo.master_link_status}, sync in progress ${replicaInfo.master_sync_in_progress}`);
    }
  }
  return problems;
}
