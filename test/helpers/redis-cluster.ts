import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Redis from 'ioredis';
import { freePort } from '../../toolkit/ports';
import { sleep } from '../../toolkit/time';
import { dockerAnswers, hasRedisServerBinary, productRedisImage, waitForRedis } from './redis-server';

/** A Redis Cluster these tests own: three primaries and three replicas on loopback, throw-away storage. */
export interface OwnedRedisCluster {
  /** Every node as host:port, comma-separated: what REDIS_CLUSTER_NODES takes. */
  nodes: string;
  ports: number[];
  /** Kills one node at once (SIGKILL), as a crash would. */
  kill(port: number): Promise<void>;
  /** Starts a killed node again on its port, with its cluster config: it rejoins (as a replica, once failed over). */
  revive(port: number): Promise<void>;
  /** Freezes a node (SIGSTOP, or `docker pause`): connected, answering nothing, as behind a partition. */
  freeze(port: number): Promise<void>;
  thaw(port: number): Promise<void>;
  destroy(): Promise<void>;
}

const NODES = 6;

/** The node's options: cluster mode on, bound to loopback, announcing 127.0.0.1 so the host can follow MOVED. */
const nodeArgs = (port: number, dir: string) => [
  '--port', String(port), '--bind', '127.0.0.1', '--cluster-enabled', 'yes',
  '--cluster-config-file', `nodes-${port}.conf`, '--cluster-node-timeout', '2000',
  '--save', '', '--appendonly', 'no', '--dir', dir,
];

/**
 * Six nodes joined by `redis-cli --cluster create … --cluster-replicas 1`, as an operator makes a cluster.
 * redis-server from PATH, or (TEST_REDIS=docker, or no redis-server) containers of the product's Redis image
 * on the host's network, so the addresses the nodes announce are the host's.
 */
export async function startOwnedRedisCluster(): Promise<OwnedRedisCluster> {
  const ports = await distinctFreePorts(NODES);
  const wantDocker = process.env.TEST_REDIS === 'docker' || !hasRedisServerBinary();
  if (wantDocker && !dockerAnswers()) throw new Error('a Redis Cluster for the tests needs redis-server on PATH or a Docker engine');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sc-redis-cluster-'));
  const nodes = wantDocker ? dockerNodes(ports) : processNodes(ports, dir);
  const destroy = async () => {
    await nodes.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await Promise.all(ports.map((port) => waitForRedis(port, 30_000)));
    const addresses = ports.map((port) => `127.0.0.1:${port}`);
    const created = nodes.cli(['--cluster', 'create', ...addresses, '--cluster-replicas', '1', '--cluster-yes']);
    if (created.status !== 0) throw new Error(`redis-cli --cluster create failed: ${created.stdout}${created.stderr}`);
    await waitForClusterOk(ports);
    const revive = async (port: number) => {
      nodes.start(ports.indexOf(port));
      await waitForRedis(port, 30_000);
      await waitForClusterOk(ports);
    };
    const at = (port: number) => ports.indexOf(port);
    return {
      nodes: addresses.join(','),
      ports,
      kill: (port) => nodes.kill(at(port)),
      revive,
      freeze: async (port) => nodes.signal(at(port), 'SIGSTOP'),
      thaw: async (port) => nodes.signal(at(port), 'SIGCONT'),
      destroy,
    };
  } catch (err) {
    await destroy();
    throw err;
  }
}

async function distinctFreePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  // A node also listens on its port + 10000 (the cluster bus): keep both ranges clear of each other.
  while (ports.size < count) {
    const port = await freePort();
    if (port < 55_000) ports.add(port);
  }
  return [...ports];
}

interface Nodes {
  cli(args: string[]): { status: number | null; stdout: string; stderr: string };
  kill(index: number): Promise<void>;
  /** SIGSTOP freezes a node, SIGCONT thaws it. */
  signal(index: number, signal: 'SIGSTOP' | 'SIGCONT'): void;
  start(index: number): void;
  stop(): Promise<void>;
}

function killed(child: ChildProcess): Promise<void> {
  return new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

function processNodes(ports: number[], dir: string): Nodes {
  const spawnNode = (port: number) => spawn('redis-server', nodeArgs(port, dir), { stdio: 'ignore' });
  const children: ChildProcess[] = ports.map(spawnNode);
  return {
    start: (index) => {
      children[index] = spawnNode(ports[index]!);
    },
    cli: (args) => spawnSync('redis-cli', args, { encoding: 'utf8', timeout: 60_000 }),
    kill: (index) => killed(children[index]!),
    signal: (index, signal) => {
      children[index]!.kill(signal);
    },
    stop: async () => {
      await Promise.all(children.map(killed));
    },
  };
}

function dockerNodes(ports: number[]): Nodes {
  const image = productRedisImage();
  const names = ports.map((port) => `sc-test-redis-cluster-${port}`);
  const docker = (...args: string[]) => spawnSync('docker', args, { encoding: 'utf8', timeout: 60_000 });
  ports.forEach((port, i) => {
    docker('rm', '-f', names[i]!);
    const run = docker('run', '-d', '--name', names[i]!, '--network', 'host', image, 'redis-server', ...nodeArgs(port, '/data'));
    if (run.status !== 0) throw new Error(`docker could not start a ${image} cluster node: ${run.stderr}`);
  });
  return {
    cli: (args) => docker('exec', names[0]!, 'redis-cli', ...args),
    kill: async (index) => {
      docker('kill', names[index]!);
    },
    signal: (index, signal) => {
      docker(signal === 'SIGSTOP' ? 'pause' : 'unpause', names[index]!);
    },
    start: (index) => {
      docker('start', names[index]!);
    },
    stop: async () => {
      docker('rm', '-f', ...names);
    },
  };
}

/**
 * Until the cluster is steady: every node says cluster_state:ok and knows all six, and each node sees three
 * shards holding slots, each with its primary and one replica, both online.
 */
async function waitForClusterOk(ports: number[], timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const states = await Promise.all(ports.map((port) => nodeIsSteady(port)));
    if (states.every(Boolean)) return;
    if (Date.now() > deadline) throw new Error(`the test Redis Cluster did not become steady within ${timeoutMs} ms`);
    await sleep(200);
  }
}

async function nodeIsSteady(port: number): Promise<boolean> {
  const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0 });
  try {
    await client.connect();
    const info = String(await client.call('CLUSTER', 'INFO'));
    if (!/cluster_state:ok/.test(info) || !new RegExp(`cluster_known_nodes:${NODES}\\b`).test(info)) return false;
    const shards = (await client.call('CLUSTER', 'SHARDS')) as unknown[][];
    const healthy = shards.filter((shard) => {
      const nodes = shard[shard.indexOf('nodes') + 1] as unknown[][];
      return nodes.length === 2 && nodes.every((node) => node[node.indexOf('health') + 1] === 'online');
    });
    return healthy.length === NODES / 2;
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}
