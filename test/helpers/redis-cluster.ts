import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
  /** With `tls`: the CA that signed the nodes' certificate (what REDIS_TLS_CA_FILE takes). */
  caFile?: string;
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

/** The test cluster's TLS files: a CA of its own, and one certificate for 127.0.0.1 every node serves. */
interface TlsFiles {
  ca: string;
  cert: string;
  key: string;
}

/** The node's options: cluster mode on, bound to loopback, announcing 127.0.0.1 so the host can follow MOVED. */
const nodeArgs = (port: number, dir: string, tls?: TlsFiles) => [
  // With TLS, clients, replication and the cluster bus all speak it, and the plain port is closed.
  ...(tls
    ? ['--port', '0', '--tls-port', String(port), '--tls-cluster', 'yes', '--tls-replication', 'yes',
       '--tls-cert-file', tls.cert, '--tls-key-file', tls.key, '--tls-ca-cert-file', tls.ca, '--tls-auth-clients', 'no']
    : ['--port', String(port)]),
  '--bind', '127.0.0.1', '--cluster-enabled', 'yes',
  '--cluster-config-file', `nodes-${port}.conf`, '--cluster-node-timeout', '2000',
  '--save', '', '--appendonly', 'no', '--dir', dir,
];

/** A CA and a certificate for 127.0.0.1 it signed, made with openssl in `dir`; readable by a container's redis user. */
function makeCertificates(dir: string): TlsFiles {
  const file = (name: string) => path.join(dir, name);
  const openssl = (...args: string[]) => {
    const res = spawnSync('openssl', args, { encoding: 'utf8', timeout: 60_000 });
    if (res.status !== 0) throw new Error(`openssl ${args[0]} failed: ${res.stderr ?? res.error?.message}`);
  };
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=session-cluster test CA', '-keyout', file('ca.key'), '-out', file('ca.crt'));
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', file('node.key'), '-out', file('node.csr'));
  writeFileSync(file('node.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  openssl('x509', '-req', '-in', file('node.csr'), '-CA', file('ca.crt'), '-CAkey', file('ca.key'), '-CAcreateserial', '-days', '2', '-extfile', file('node.ext'), '-out', file('node.crt'));
  for (const name of ['ca.crt', 'node.crt', 'node.key']) chmodSync(file(name), 0o644);
  chmodSync(dir, 0o755);
  return { ca: file('ca.crt'), cert: file('node.crt'), key: file('node.key') };
}

/** A connection to one node (TLS with the cluster's CA when it has one). */
function nodeClient(port: number, tls?: TlsFiles): Redis {
  return new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, ...(tls ? { tls: { ca: [readFileSync(tls.ca)] } } : {}) });
}

/** Until a TLS node answers PING (waitForRedis speaks plain TCP). */
async function waitForTlsNode(port: number, tls: TlsFiles, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const client = nodeClient(port, tls);
    const ok = await client.connect().then(() => client.ping()).then((r) => r === 'PONG', () => false);
    client.disconnect();
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`Redis (TLS) on port ${port} did not answer within ${timeoutMs} ms`);
    await sleep(100);
  }
}

/**
 * Six nodes joined by `redis-cli --cluster create … --cluster-replicas 1`, as an operator makes a cluster.
 * redis-server from PATH, or (TEST_REDIS=docker, or no redis-server) containers of the product's Redis image
 * on the host's network, so the addresses the nodes announce are the host's.
 */
export async function startOwnedRedisCluster({ tls: withTls = false } = {}): Promise<OwnedRedisCluster> {
  const ports = await distinctFreePorts(NODES);
  const wantDocker = process.env.TEST_REDIS === 'docker' || !hasRedisServerBinary();
  if (wantDocker && !dockerAnswers()) throw new Error('a Redis Cluster for the tests needs redis-server on PATH or a Docker engine');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sc-redis-cluster-'));
  const destroy = async () => {
    await nodes?.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  let nodes: Nodes | undefined;
  try {
    const tls = withTls ? makeCertificates(dir) : undefined;
    nodes = wantDocker ? dockerNodes(ports, dir, tls) : processNodes(ports, dir, tls);
    const up = (port: number) => (tls ? waitForTlsNode(port, tls, 30_000) : waitForRedis(port, 30_000));
    await Promise.all(ports.map(up));
    const addresses = ports.map((port) => `127.0.0.1:${port}`);
    const created = nodes.cli([...(tls ? ['--tls', '--cacert', tls.ca] : []), '--cluster', 'create', ...addresses, '--cluster-replicas', '1', '--cluster-yes']);
    if (created.status !== 0) throw new Error(`redis-cli --cluster create failed: ${created.stdout}${created.stderr}`);
    await waitForClusterOk(ports, tls);
    const started = nodes;
    const revive = async (port: number) => {
      started.start(ports.indexOf(port));
      await up(port);
      await waitForClusterOk(ports, tls);
    };
    const at = (port: number) => ports.indexOf(port);
    return {
      nodes: addresses.join(','),
      ports,
      ...(tls ? { caFile: tls.ca } : {}),
      kill: (port) => started.kill(at(port)),
      revive,
      freeze: async (port) => started.signal(at(port), 'SIGSTOP'),
      thaw: async (port) => started.signal(at(port), 'SIGCONT'),
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

function processNodes(ports: number[], dir: string, tls?: TlsFiles): Nodes {
  const spawnNode = (port: number) => spawn('redis-server', nodeArgs(port, dir, tls), { stdio: 'ignore' });
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

function dockerNodes(ports: number[], dir: string, tls?: TlsFiles): Nodes {
  const image = productRedisImage();
  const names = ports.map((port) => `sc-test-redis-cluster-${port}`);
  const docker = (...args: string[]) => spawnSync('docker', args, { encoding: 'utf8', timeout: 60_000 });
  ports.forEach((port, i) => {
    docker('rm', '-f', names[i]!);
    // The TLS files at the same path inside as outside (read-only), so the nodes' options name them alike.
    const mount = tls ? ['-v', `${dir}:${dir}:ro`] : [];
    const run = docker('run', '-d', '--name', names[i]!, '--network', 'host', ...mount, image, 'redis-server', ...nodeArgs(port, '/data', tls));
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
async function waitForClusterOk(ports: number[], tls?: TlsFiles, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const states = await Promise.all(ports.map((port) => nodeIsSteady(port, tls)));
    if (states.every(Boolean)) return;
    if (Date.now() > deadline) throw new Error(`the test Redis Cluster did not become steady within ${timeoutMs} ms`);
    await sleep(200);
  }
}

async function nodeIsSteady(port: number, tls?: TlsFiles): Promise<boolean> {
  const client = nodeClient(port, tls);
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
