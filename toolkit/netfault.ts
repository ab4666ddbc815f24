// Network faults between the stack's containers: packets dropped inside one container's network namespace
// (the host's nsenter + iptables), so the container and its processes keep running and every other path
// stays as it was. Needs root on the Docker host and iptables there (Docker's own packages bring it).
import { spawnSync } from 'node:child_process';
import type { Compose } from './compose';
import { docker } from './docker';

/** A cut in force: heal() removes exactly the rules it added (idempotent). */
export interface Cut {
  /** `service ⇹ peer` for each peer cut off, with the addresses the rules name. */
  readonly description: string;
  heal(): void;
}

/** Every IPv4 address a container has, on any of its networks. */
export function containerAddresses(id: string): string[] {
  const out = docker('inspect', '-f', '{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}', id);
  return out.split(/\s+/).filter((a) => /^\d+\.\d+\.\d+\.\d+$/.test(a));
}

function iptables(pid: string, args: string[]): { ok: boolean; error: string } {
  const res = spawnSync('nsenter', ['-t', pid, '-n', 'iptables', '-w', '5', ...args], { encoding: 'utf8', timeout: 15_000 });
  return { ok: res.status === 0, error: `${res.stderr ?? ''}${res.error?.message ?? ''}`.trim() };
}

/**
 * Drops every packet between `service` and each of `peers` (both directions), inside `service`'s network
 * namespace: connections between them stall (no RST), as a partition does; TCP to everything else goes on.
 */
export function cutOff(compose: Compose, service: string, peers: string[]): Cut {
  const id = compose.containerId(service);
  const pid = docker('inspect', '-f', '{{.State.Pid}}', id).trim();
  if (!pid || pid === '0') throw new Error(`${service} is not running: no network namespace to cut in`);
  const addresses = peers.map((peer) => ({ peer, ips: containerAddresses(compose.containerId(peer)) }));
  const rules = addresses.flatMap(({ ips }) => ips.flatMap((ip) => [['INPUT', '-s', ip, '-j', 'DROP'], ['OUTPUT', '-d', ip, '-j', 'DROP']]));
  const added: string[][] = [];
  const heal = () => {
    while (added.length) iptables(pid, ['-D', ...added.pop()!]);
  };
  for (const rule of rules) {
    const res = iptables(pid, ['-I', ...rule]);
    if (!res.ok) {
      heal();
      throw new Error(`iptables in ${service}'s namespace refused ${rule.join(' ')}: ${res.error} (needs root and iptables on the Docker host)`);
    }
    added.push(rule);
  }
  return { description: `${service} ⇹ ${addresses.map(({ peer, ips }) => `${peer} (${ips.join(', ')})`).join(', ')}`, heal };
}

/** Cuts several at once; heal() heals them all. */
export function cutAll(cuts: (() => Cut)[]): Cut {
  const made: Cut[] = [];
  try {
    for (const cut of cuts) made.push(cut());
  } catch (err) {
    for (const cut of made) cut.heal();
    throw err;
  }
  return { description: made.map((c) => c.description).join('; '), heal: () => made.forEach((c) => c.heal()) };
}
