import { waitForSteadyStack } from '../cluster/steady';
import { faultsInfo } from './faults';

// Every scenario breaks something and waits for the stack to mend: hooks get three minutes unless told.
jest.setTimeout(180_000);

// Each scenario starts from a steady stack and must leave one: none depends on the order jest picks.
beforeEach(async () => {
  await waitForSteadyStack(faultsInfo());
}, 180_000);

afterEach(async () => {
  await waitForSteadyStack(faultsInfo());
}, 180_000);
