// The body of a LoadThread (load.ts): a ProbeFleet in a worker thread of its own, so that nothing the test
// does meanwhile (every docker and docker-compose call is a spawnSync that blocks the test's thread for up
// to seconds) delays a request or its timing. Samples go to the test in batches; timings are taken here.
import { parentPort, workerData } from 'node:worker_threads';
import { ProbeFleet, type ProbeOptions, type ProbeReport, type ProbeSample } from '../cluster/probe';
import type { Target } from '../helpers/client';

/** What the worker tells the test: started (every user logged in), samples (a batch), stopped, or failed. */
export type LoadMessage =
  | { type: 'started' }
  | { type: 'samples'; samples: ProbeSample[] }
  | { type: 'stopped'; report: ProbeReport }
  | { type: 'failed'; message: string };

const { target, users, options } = workerData as { target: Target; users: number; options: ProbeOptions };
const port = parentPort!;
const fleet = new ProbeFleet(target, users, options);
const sent = fleet.probes.map(() => 0);

function flush(): void {
  const samples = fleet.probes.flatMap((probe, i) => {
    const fresh = probe.samples.slice(sent[i]);
    sent[i] = probe.samples.length;
    return fresh;
  });
  if (samples.length) port.postMessage({ type: 'samples', samples } satisfies LoadMessage);
}

port.once('message', () => {
  void fleet.stop().then((report) => {
    clearInterval(flushing);
    flush();
    port.postMessage({ type: 'stopped', report } satisfies LoadMessage);
    port.close();
  });
});

let flushing: NodeJS.Timeout | undefined;
fleet.login().then(
  () => {
    fleet.start();
    flushing = setInterval(flush, 100);
    port.postMessage({ type: 'started' } satisfies LoadMessage);
  },
  (err: Error) => {
    port.postMessage({ type: 'failed', message: err.message } satisfies LoadMessage);
    port.close();
  },
);
