import { clusterCompose, clusterInfo } from './compose';

export default async function globalTeardown(): Promise<void> {
  if (!process.env.SC_CLUSTER) return;
  const { project } = clusterInfo();
  if (process.env.KEEP_CLUSTER === '1') {
    console.log(`KEEP_CLUSTER=1: project ${project} left running`);
    return;
  }
  clusterCompose().run(['down', '-v', '--remove-orphans'], 300_000);
}
