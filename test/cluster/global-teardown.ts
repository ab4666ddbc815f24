import { clusterInfo, tearDownStack } from './compose';

export default async function globalTeardown(): Promise<void> {
  tearDownStack(process.env.SC_CLUSTER ? clusterInfo() : undefined);
}
