import { tearDownStack } from '../../toolkit/stack';
import { clusterInfo } from './cluster';

export default async function globalTeardown(): Promise<void> {
  tearDownStack(process.env.SC_CLUSTER ? clusterInfo() : undefined);
}
