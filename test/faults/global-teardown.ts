import { tearDownStack } from '../../toolkit/stack';
import { faultsInfo } from './faults';

export default async function globalTeardown(): Promise<void> {
  tearDownStack(process.env.SC_FAULTS ? faultsInfo() : undefined);
}
