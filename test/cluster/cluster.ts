import type { Compose } from '../../toolkit/compose';
import { stackCompose, type StackInfo } from '../../toolkit/stack';
import { stackFromEnv } from '../helpers/stack';

/** What the cluster suite's global setup hands to the test files (through the environment). */
export interface ClusterInfo extends StackInfo {
  stickyUrl: string;
}

export function clusterInfo(): ClusterInfo {
  return stackFromEnv<ClusterInfo>('SC_CLUSTER', 'cluster suite', 'npm run test:cluster');
}

/** The suite's stack, as its global setup started it. */
export function clusterCompose(): Compose {
  return stackCompose(clusterInfo());
}
