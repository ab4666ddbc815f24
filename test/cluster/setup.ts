import { clusterInfo } from './compose';
import { waitForSteadyStack } from './steady';

// Compose operations (start, wait for healthy) take tens of seconds: hooks and tests get two minutes.
jest.setTimeout(120_000);

// Every test starts from a steady stack and must leave one (a test that breaks something mends it in its
// own hooks): no test depends on the order jest runs them in.
beforeEach(async () => {
  await waitForSteadyStack(clusterInfo());
}, 180_000);

afterEach(async () => {
  await waitForSteadyStack(clusterInfo());
}, 180_000);
