// Running k6 (a binary on the host, or the loadtest profile's image inside the project's network) and
// following its run through its REST API.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import path from 'node:path';
import { composeCommand, REPO_ROOT } from './compose';
import { sleep } from './time';

export type K6Runner = 'docker' | 'binary';

/** The k6 binary: $K6, else k6 on PATH, else the one .ci/k6.sh builds (its path is what it prints). */
export function k6Binary(): string {
  if (process.env.K6) return process.env.K6;
  const which = spawnSync('sh', ['-c', 'command -v k6'], { encoding: 'utf8' });
  if (which.status === 0 && which.stdout.trim()) return which.stdout.trim();
  return spawnSync('bash', [path.join(REPO_ROOT, '.ci/k6.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).stdout.trim();
}

/** k6's run status (REST API): 6 = setup() running, 7 = scenarios running, 8+ = teardown or ended; null while it does not answer. */
export async function k6Status(api: string): Promise<number | null> {
  try {
    const res = await fetch(`${api}/v1/status`);
    return ((await res.json()) as { data: { attributes: { status: number } } }).data.attributes.status;
  } catch {
    return null;
  }
}

/** Polls k6 until it has finished setup() and runs its scenarios ('running'), has gone past them ('ended'), or `giveUp()` says stop. */
export async function waitForK6Scenarios(api: string, giveUp: () => boolean, intervalMs = 100): Promise<'running' | 'ended' | 'gave up'> {
  while (!giveUp()) {
    const status = await k6Status(api);
    if (status === 7) return 'running';
    if (status !== null && status > 7) return 'ended';
    await sleep(intervalMs);
  }
  return 'gave up';
}

export interface K6Run {
  runner: K6Runner;
  /** The script, relative to loadtest/. */
  script: string;
  /** The host port of k6's REST API. */
  apiPort: number;
  /** k6's own options and `-e` variables, before the script. */
  k6Args: string[];
  /** The docker runner's container name and the `compose run` environment (-e) it gets. */
  container: { name: string; env: Record<string, string> };
}

/** The command line of one k6 run. The docker runner's compose call names no project: COMPOSE_PROJECT_NAME does. */
export function k6Command({ runner, script, apiPort, k6Args, container }: K6Run): string[] {
  if (runner === 'binary') return [k6Binary(), 'run', '--quiet', '--address', `127.0.0.1:${apiPort}`, ...k6Args, path.join(REPO_ROOT, 'loadtest', script)];
  // Inside the project's network, as the loadtest profile runs: k6 → nginx directly (BASE_URL=http://nginx).
  const user = `${process.getuid?.() ?? 0}:${process.getgid?.() ?? 0}`;
  const env = Object.entries(container.env).flatMap(([k, v]) => ['-e', `${k}=${v}`]);
  return [
    ...composeCommand(), '--profile', 'loadtest', 'run', '--rm', '--no-deps', '-T', '--name', container.name, '--user', user,
    '--publish', `127.0.0.1:${apiPort}:6565`, ...env, 'k6', 'run', '--quiet', '--address', '0.0.0.0:6565', ...k6Args, `/scripts/${script}`,
  ];
}

export interface StartedK6 {
  child: ChildProcess;
  /** Its exit code, once it has gone. */
  exited: Promise<number | null>;
  done(): boolean;
}

/** Starts k6 from the repository root: its output to `logFile`, its stdout also to this process's stderr. */
export function startK6(command: string[], env: NodeJS.ProcessEnv, logFile: string): StartedK6 {
  const [cmd, ...argv] = command as [string, ...string[]];
  const child = spawn(cmd, argv, { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const log = createWriteStream(logFile);
  child.stdout.on('data', (chunk: Buffer) => {
    log.write(chunk);
    process.stderr.write(chunk);
  });
  child.stderr.on('data', (chunk: Buffer) => log.write(chunk));
  child.on('close', () => log.end());
  let done = false;
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      done = true;
      resolve(code);
    }),
  );
  return { child, exited, done: () => done };
}
