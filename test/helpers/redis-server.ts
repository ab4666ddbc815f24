import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import Redis from 'ioredis';
import { freePort } from '../../toolkit/ports';
import { productImage } from '../../toolkit/images';
import { sleep, waitFor } from '../../toolkit/time';

/** A Redis server these tests own: started on a free loopback port with throw-away storage. */
export interface OwnedRedis {
  url: string;
  port: number;
  /** Stops the server (it can be started again on the same port). */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops it for good and removes its storage. */
  destroy(): Promise<void>;
}

/** Resolves once something accepts TCP connections on the port and answers PING. */
export async function waitForRedis(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.setTimeout(500);
      socket.once('connect', () => socket.write('PING\r\n'));
      socket.once('data', (data) => {
        socket.destroy();
        resolve(data.toString().startsWith('+PONG'));
      });
      socket.once('error', () => resolve(false));
      // Docker's port proxy accepts the connection before Redis in the container listens, then closes it.
      socket.once('close', () => resolve(false));
      socket.once('timeout', () => {
        socket.destroy();
        resolve(false);
      });
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`Redis on port ${port} did not answer within ${timeoutMs} ms`);
    await sleep(100);
  }
}

export function hasRedisServerBinary(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

export function dockerAnswers(): boolean {
  return spawnSync('docker', ['info'], { stdio: 'ignore', timeout: 5000 }).status === 0;
}

const HOW_TO_GET_REDIS =
  'These tests need a real Redis. Set REDIS_URL to one, or install redis-server (Debian: apt-get install redis-server), or start a Docker daemon.';

/** The Redis image the product runs. */
export const productRedisImage = () => productImage('redis');

/**
 * Spawns redis-server from PATH; falls back to a container of the product's Redis image when only Docker
 * is there. TEST_REDIS=docker takes the container even where redis-server is installed, so the tests run
 * against the Redis the product ships (CI does). `args`: more redis-server options (`--cluster-enabled yes`…).
 */
export async function startOwnedRedis({ args = [] }: { args?: string[] } = {}): Promise<OwnedRedis> {
  const port = await freePort();
  const base = ['--save', '', '--appendonly', 'no', ...args];
  if (useRedisServerBinary()) return spawnRedisServer(port, (dir) => ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, ...base]);
  return dockerRedis(port, ['-p', `127.0.0.1:${port}:6379`, productRedisImage(), 'redis-server', ...base]);
}

/**
 * A Sentinel of its own watching one primary as `name`, quorum 1 (it never fails over: there is no replica):
 * enough for a client in Sentinel mode to ask it for the primary. Sentinel rewrites its config file, so it
 * gets one in throw-away storage; its container, if any, is on the host's network to reach `primary`.
 */
export async function startOwnedSentinel(primary: { host: string; port: number }, name = 'mymaster'): Promise<OwnedRedis> {
  const port = await freePort();
  const config = (dir: string) => [`port ${port}`, 'bind 127.0.0.1', `dir ${dir}`, `sentinel monitor ${name} ${primary.host} ${primary.port} 1`].join('\n') + '\n';
  if (useRedisServerBinary()) {
    return spawnRedisServer(port, (dir) => {
      const file = path.join(dir, 'sentinel.conf');
      writeFileSync(file, config(dir));
      return [file, '--sentinel'];
    });
  }
  const script = `printf '%s' '${config('/tmp')}' > /tmp/sentinel.conf && exec redis-server /tmp/sentinel.conf --sentinel`;
  return dockerRedis(port, ['--network', 'host', productRedisImage(), 'sh', '-c', script]);
}

function useRedisServerBinary(): boolean {
  const wantDocker = process.env.TEST_REDIS === 'docker';
  if (!wantDocker && hasRedisServerBinary()) return true;
  if (dockerAnswers()) return false;
  throw new Error(wantDocker ? `TEST_REDIS=docker, but no Docker engine answers. ${HOW_TO_GET_REDIS}` : HOW_TO_GET_REDIS);
}

/** `argv(dir)`: redis-server's arguments, given its throw-away directory (which it may write files to first). */
async function spawnRedisServer(port: number, argv: (dir: string) => string[]): Promise<OwnedRedis> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sc-redis-'));
  const args = argv(dir);
  let child: ChildProcess | undefined;
  const start = async () => {
    child = spawn('redis-server', args, { stdio: 'ignore' });
    await waitForRedis(port);
  };
  const stop = async () => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      running.once('exit', () => resolve());
      running.kill('SIGKILL');
    });
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    start,
    stop,
    destroy: async () => {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** `runArgs`: what `docker run -d --name …` takes after the name (ports or network, image, command). */
async function dockerRedis(port: number, runArgs: string[]): Promise<OwnedRedis> {
  const name = `sc-test-redis-${port}`;
  const run = (...args: string[]) => spawnSync('docker', args, { stdio: 'ignore', timeout: 60_000 });
  const start = async () => {
    run('rm', '-f', name);
    if (run('run', '-d', '--name', name, ...runArgs).status !== 0) {
      throw new Error(`docker could not start a ${productRedisImage()} container. ${HOW_TO_GET_REDIS}`);
    }
    await waitForRedis(port, 30_000);
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    start,
    stop: async () => {
      run('rm', '-f', name);
    },
    destroy: async () => {
      run('rm', '-f', name);
    },
  };
}

/** A replica these tests own, of a primary they own (startOwnedReplica). */
export interface OwnedReplica {
  url: string;
  port: number;
  /**
   * Freezes the replica's process (SIGSTOP, or `docker pause`): its link to the primary stays open, but it
   * acknowledges nothing, as a replica cut off by a partition looks to the primary.
   */
  freeze(): Promise<void>;
  thaw(): Promise<void>;
  /** Resolves once the primary lists it online and it has acknowledged every write the primary has. */
  waitInSync(timeoutMs?: number): Promise<void>;
  destroy(): Promise<void>;
}

/**
 * Starts a replica of `primary` (`--replicaof`), by the same means as startOwnedRedis: redis-server from PATH,
 * or a container of the product's Redis image on the host's network (where the primary's port is published).
 */
export async function startOwnedReplica(primary: OwnedRedis): Promise<OwnedReplica> {
  const port = await freePort();
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--replicaof', '127.0.0.1', String(primary.port), '--save', '', '--appendonly', 'no'];
  const useDocker = process.env.TEST_REDIS === 'docker' || !hasRedisServerBinary();
  const replica = useDocker ? dockerReplica(port, args) : processReplica(args);
  await waitForRedis(port, 30_000);
  const waitInSync = async (timeoutMs = 10_000) => {
    await waitFor(`the replica on ${port} in sync with its primary`, () => replicaInSync(primary.url, port), timeoutMs, 50);
  };
  await waitInSync(30_000);
  return { url: `redis://127.0.0.1:${port}`, port, waitInSync, ...replica };
}

type ReplicaProcess = Pick<OwnedReplica, 'freeze' | 'thaw' | 'destroy'>;

function processReplica(args: string[]): ReplicaProcess {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sc-redis-replica-'));
  const child = spawn('redis-server', [...args, '--dir', dir], { stdio: 'ignore' });
  return {
    freeze: async () => {
      child.kill('SIGSTOP');
    },
    thaw: async () => {
      child.kill('SIGCONT');
    },
    destroy: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        await new Promise<void>((resolve) => {
          child.once('exit', () => resolve());
          child.kill('SIGKILL');
        });
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function dockerReplica(port: number, args: string[]): ReplicaProcess {
  const name = `sc-test-redis-replica-${port}`;
  const docker = (...rest: string[]) => spawnSync('docker', rest, { stdio: 'ignore', timeout: 60_000 });
  docker('rm', '-f', name);
  if (docker('run', '-d', '--name', name, '--network', 'host', productRedisImage(), 'redis-server', ...args).status !== 0) {
    throw new Error(`docker could not start a ${productRedisImage()} replica. ${HOW_TO_GET_REDIS}`);
  }
  return {
    freeze: async () => {
      docker('pause', name);
    },
    thaw: async () => {
      docker('unpause', name);
    },
    destroy: async () => {
      docker('rm', '-f', name);
    },
  };
}

/** Whether the primary at `primaryUrl` lists the replica on `port` online, with its every write acknowledged. */
export async function replicaInSync(primaryUrl: string, port: number): Promise<boolean> {
  const primary = new Redis(primaryUrl, { maxRetriesPerRequest: 0, lazyConnect: true });
  try {
    await primary.connect();
    const info = await primary.info('replication');
    const offset = Number(/^master_repl_offset:(\d+)/m.exec(info)?.[1]);
    const line = new RegExp(`^slave\\d+:ip=[^,]+,port=${port},state=(\\w+),offset=(\\d+)`, 'm').exec(info);
    return line?.[1] === 'online' && Number(line[2]) >= offset;
  } catch {
    return false;
  } finally {
    primary.disconnect();
  }
}
