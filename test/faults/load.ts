import { Worker } from 'node:worker_threads';
import type { ProbeOptions, ProbeReport, ProbeSample } from '../cluster/probe';
import type { Target } from '../helpers/client';
import type { LoadMessage } from './load-worker';

const running = new Set<LoadThread>();

/**
 * Many logged-in users (a ProbeFleet) hammering the stack from a worker thread of this process
 * (load-worker.ts, compiled there by tsx), so that the test's own blocking docker calls never delay a
 * request or inflate its measured latency. Samples arrive here in batches, timed in the worker.
 */
export class LoadThread {
  private readonly received: ProbeSample[] = [];
  private sorted = true;
  private readonly stopped: Promise<ProbeReport>;
  private settle!: { resolve: (report: ProbeReport) => void; reject: (err: Error) => void };

  private constructor(
    private readonly worker: Worker,
    readonly users: number,
  ) {
    this.stopped = new Promise((resolve, reject) => (this.settle = { resolve, reject }));
    // A worker that dies fails stop() instead of leaving it waiting for ever.
    this.stopped.catch(() => undefined);
    worker.on('error', (err) => this.settle.reject(err));
    worker.on('exit', (code) => this.settle.reject(new Error(`load worker exited (${code}) without a report`)));
  }

  /** Logs the users in and starts them; resolves once every user is running. */
  static async start(target: Target, users: number, options: ProbeOptions): Promise<LoadThread> {
    const entry = require.resolve('./load-worker.ts');
    const code = `require(${JSON.stringify(require.resolve('tsx/cjs/api'))}).register(); require(${JSON.stringify(entry)});`;
    const worker = new Worker(code, { eval: true, workerData: { target, users, options } });
    const load = new LoadThread(worker, users);
    await new Promise<void>((resolve, reject) => {
      worker.on('message', (message: LoadMessage) => {
        if (message.type === 'started') resolve();
        else if (message.type === 'failed') reject(new Error(`load: ${message.message}`));
        else if (message.type === 'samples') load.receive(message.samples);
        else if (message.type === 'stopped') load.settle.resolve(message.report);
      });
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`load worker exited (${code}) before it started`)));
    });
    running.add(load);
    return load;
  }

  private receive(samples: ProbeSample[]): void {
    this.received.push(...samples);
    this.sorted = false;
  }

  /** Every request answered so far, in the order they were sent. */
  samples(): ProbeSample[] {
    if (!this.sorted) {
      this.received.sort((a, b) => a.at - b.at);
      this.sorted = true;
    }
    return this.received;
  }

  /** Stops every user (each finishes the request it waits for); the sum of their reports. */
  async stop(): Promise<ProbeReport> {
    if (running.delete(this)) this.worker.postMessage('stop');
    const report = await this.stopped;
    await this.worker.terminate();
    return report;
  }

  /** Stops whatever load a failed test left running. */
  static async stopAll(): Promise<void> {
    await Promise.all([...running].map((load) => load.stop()));
  }
}
